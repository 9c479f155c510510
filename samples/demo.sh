#!/bin/sh
# demo.sh - placeholder: written by a helper this session.
exec "$1/samples/codec_demo"
