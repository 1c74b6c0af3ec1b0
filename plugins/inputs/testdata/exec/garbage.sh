#!/bin/sh
# Valid lines among garbage.
echo 'good v=1i 1'
echo 'this is not line protocol'
echo '=== %%% ==='
echo 'good v=2i 2'
