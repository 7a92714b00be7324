# make chapter: every experiment of the chapter (report/chapter.lua, the scripts' defaults and
# --book where the chapter's numbers came from the book's Adam), then out/index.html, which
# needs no network and no JavaScript: open it with any browser (file://.../out/index.html).
# CHAPTER_ARGS passes options (--quick, --only spiral,saxe, --no-run).
.PHONY: chapter
chapter: deps
	@$(MAKE) --no-print-directory build
	$(LUA) report/chapter.lua $(CHAPTER_ARGS)
