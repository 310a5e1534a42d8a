#!/usr/bin/env bash
# Prints the secret it was given: redaction, not the script, must keep it out of everything.
echo "token is ${api_token}"
echo "done"
