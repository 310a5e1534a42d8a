#!/usr/bin/env bash
yes "ten gigabytes of output, one line at a time"
