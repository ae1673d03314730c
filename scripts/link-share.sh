#!/bin/sh
# link-share.sh BUILD — the uninstalled data directory of a build:
# BUILD/share/{templates,static} from the tree, BUILD/share/locale = BUILD/po.
set -eu
b=$1
mkdir -p "$b/share"
ln -sfn ../../data/templates "$b/share/templates"
ln -sfn ../../data/static "$b/share/static"
ln -sfn ../po "$b/share/locale"
ln -sfn ../../data/trust "$b/share/trust"
