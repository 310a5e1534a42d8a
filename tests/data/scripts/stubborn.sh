#!/usr/bin/env bash
trap '' TERM
echo "ignoring SIGTERM"
sleep 1000 &
wait
sleep 1000
