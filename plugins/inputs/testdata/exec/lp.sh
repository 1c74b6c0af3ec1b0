#!/bin/sh
# Line protocol on stdout, a warning on stderr.
echo 'example,tag1=a,tag2=b i=42i,j=43.5 1700000000000000000'
echo 'example,tag1=c i=1i'
echo 'something odd happened' >&2
