#!/usr/bin/env bash
# Link the notebooks and course pages into the book tree (Jupyter Book reads files below book/).
set -euo pipefail
cd "$(dirname "$0")"
ln -sfn ../notebooks notebooks
ln -sfn ../course course
