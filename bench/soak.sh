#!/bin/sh
# soak.sh - placeholder: written by a helper this session.
exit 0
