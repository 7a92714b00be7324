# bin/kairo's REPL: line editing, completion and history through Debian's lua-readline;
# spec/repl_spec.lua drives it through a pseudo-terminal with tmux.
DEB_PKGS += lua-readline tmux
