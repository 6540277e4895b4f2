#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\n'
echo "${POD_NAME:-$(hostname)}"
