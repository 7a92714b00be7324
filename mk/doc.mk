# The reference: `make doc` builds HTML into build/doc/ with Debian's lua-ldoc from
# lua/kairo/doc/*.luadoc, the files kr.help reads too (one source for both).
DEB_PKGS += lua-ldoc
DOC_DIR  ?= build/doc
.PHONY: doc
doc:
	@mkdir -p $(DOC_DIR)
	ldoc -q -c lua/kairo/doc/config.ld -d $(DOC_DIR) lua/kairo/doc
	@echo "the reference: $(DOC_DIR)/index.html"
