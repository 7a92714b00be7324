# make install / make uninstall (PREFIX, DESTDIR, and the folders below can all be overridden).
#
# Where the Lua module goes: for PREFIX=/usr, where Debian's lua5.4 keeps its modules (what
# `pkg-config lua5.4` says: lib/x86_64-linux-gnu/lua/5.4 and share/lua/5.4); for any other
# prefix, PREFIX/lib/lua/5.4 and PREFIX/share/lua/5.4, which for /usr/local are on lua5.4's
# default search path, so `require "kairo"` works after `make install` with no LUA_PATH.
PREFIX     ?= /usr/local
DESTDIR    ?=
MULTIARCH  := $(shell dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || $(CC) -dumpmachine)
ifeq ($(PREFIX),/usr)
LIBDIR     ?= $(PREFIX)/lib/$(MULTIARCH)
LUA_LIBDIR ?= $(or $(shell pkg-config --variable=INSTALL_CMOD lua5.4 2>/dev/null),$(PREFIX)/lib/$(MULTIARCH)/lua/5.4)
LUA_DIR    ?= $(or $(shell pkg-config --variable=INSTALL_LMOD lua5.4 2>/dev/null),$(PREFIX)/share/lua/5.4)
else
LIBDIR     ?= $(PREFIX)/lib
LUA_LIBDIR ?= $(PREFIX)/lib/lua/5.4
LUA_DIR    ?= $(PREFIX)/share/lua/5.4
endif
BINDIR     ?= $(PREFIX)/bin
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
MANDIR     ?= $(PREFIX)/share/man
DOCDIR     ?= $(PREFIX)/share/doc/kairo
INSTALL    ?= install

# The public headers: kairo.h and the ones it includes (core/fileutil.h, core/stb.h stay private).
PUBLIC_HEADERS = core/kairo.h $(addprefix core/,$(shell sed -n 's/^\#include "\(.*\)"/\1/p' core/kairo.h))
# Every Lua file under lua/kairo/, sub-folders kept, and the reference kr.help reads (doc/*.luadoc).
LUA_FILES      = $(sort $(shell cd lua && find kairo -name '*.lua' -o -name '*.luadoc'))
# The C module's name inside LUA_LIBDIR (as require finds it), and the other C modules that
# fragments build beside it in lua/kairo/ (kairo.mpi's mpi_core.so): installed beside it.
MODULE_NAME   ?= kairo/core.so
EXTRA_CMODULES = $(filter-out $(MODULE),$(wildcard lua/kairo/*.so))

# Relative paths from the installed bin folder, so bin/kairo finds the module wherever the tree
# is unpacked (a DESTDIR, a moved prefix); absolute when no relative path exists.
# A folder as ${prefix}/... when it is inside PREFIX (so pkg-config --define-prefix works).
under_prefix = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))
rel = $(shell realpath -m --relative-to=$(BINDIR) $(1))
# Where the installed bin/kairo looks (the rockspec sets them: LuaRocks deploys the files
# elsewhere than where `make install-lua` puts them).
LAUNCH_LUA_DIR    ?= $(call rel,$(LUA_DIR))
LAUNCH_LUA_LIBDIR ?= $(call rel,$(LUA_LIBDIR))

.PHONY: install uninstall FORCE
FORCE:
# Made again at every install: they depend on PREFIX and the folders.
$(BUILD)/kairo.pc: kairo.pc.in core/kairo.h FORCE
	@mkdir -p $(BUILD)
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(call under_prefix,$(LIBDIR))|' \
	    -e 's|@INCLUDEDIR@|$(call under_prefix,$(INCLUDEDIR))|' \
	    -e 's|@VERSION@|$(VERSION)|; s|@REQUIRES@|openblas lapacke zlib $(HDF5)|' kairo.pc.in > $@.tmp
	mv $@.tmp $@

$(BUILD)/kairo.launcher: bin/kairo mk/install.mk FORCE
	@mkdir -p $(BUILD)
	sed -e 's|^KAIRO_LUA_DIR=$$|KAIRO_LUA_DIR="$(LAUNCH_LUA_DIR)"|' \
	    -e 's|^KAIRO_LUA_LIBDIR=$$|KAIRO_LUA_LIBDIR="$(LAUNCH_LUA_LIBDIR)"|' bin/kairo > $@.tmp
	grep -q '^KAIRO_LUA_DIR="' $@.tmp && mv $@.tmp $@

install: build $(BUILD)/kairo.pc $(BUILD)/kairo.launcher
	$(INSTALL) -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(INCLUDEDIR)/kairo \
	    $(DESTDIR)$(LUA_LIBDIR) $(DESTDIR)$(LUA_DIR)/kairo $(DESTDIR)$(BINDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(DOCDIR)
	$(INSTALL) -m 755 $(SHLIB) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(SHLIB)) $(DESTDIR)$(LIBDIR)/libkairo.so.$(SOVER)
	ln -sf libkairo.so.$(SOVER) $(DESTDIR)$(LIBDIR)/libkairo.so
	$(INSTALL) -m 644 $(BUILD)/libkairo.a $(DESTDIR)$(LIBDIR)/
	$(INSTALL) -m 644 $(PUBLIC_HEADERS) $(DESTDIR)$(INCLUDEDIR)/kairo/
	$(INSTALL) -m 644 $(BUILD)/kairo.pc $(DESTDIR)$(PKGCONFIGDIR)/
	$(INSTALL) -D -m 755 $(MODULE) $(DESTDIR)$(LUA_LIBDIR)/$(MODULE_NAME)
	$(if $(EXTRA_CMODULES),$(INSTALL) -m 755 $(EXTRA_CMODULES) $(DESTDIR)$(LUA_LIBDIR)/kairo/)
	cd lua && for f in $(LUA_FILES); do \
	  $(INSTALL) -D -m 644 $$f $(abspath $(DESTDIR)$(LUA_DIR))/$$f || exit 1; done
	$(INSTALL) -m 755 $(BUILD)/kairo.launcher $(DESTDIR)$(BINDIR)/kairo
	$(INSTALL) -m 644 man/kairo.1 $(DESTDIR)$(MANDIR)/man1/
	$(INSTALL) -m 644 LICENSE README.md $(DESTDIR)$(DOCDIR)/
	@if [ -d $(BUILD)/doc ]; then \
	  echo "installing the HTML reference into $(DESTDIR)$(DOCDIR)/html"; \
	  mkdir -p $(DESTDIR)$(DOCDIR)/html && cp -R $(BUILD)/doc/. $(DESTDIR)$(DOCDIR)/html/; \
	else echo "note: no HTML reference ($(BUILD)/doc): run 'make doc' before 'make install' to install it"; fi
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" -eq 0 ] && command -v ldconfig >/dev/null; then ldconfig; fi

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libkairo.so $(DESTDIR)$(LIBDIR)/libkairo.so.$(SOVER) \
	    $(DESTDIR)$(LIBDIR)/$(notdir $(SHLIB)) $(DESTDIR)$(LIBDIR)/libkairo.a \
	    $(DESTDIR)$(PKGCONFIGDIR)/kairo.pc $(DESTDIR)$(LUA_LIBDIR)/$(MODULE_NAME) \
	    $(addprefix $(DESTDIR)$(LUA_LIBDIR)/kairo/,$(notdir $(EXTRA_CMODULES))) \
	    $(DESTDIR)$(BINDIR)/kairo $(DESTDIR)$(MANDIR)/man1/kairo.1
	rm -rf $(DESTDIR)$(INCLUDEDIR)/kairo $(DESTDIR)$(LUA_DIR)/kairo $(DESTDIR)$(DOCDIR)
	-rmdir $(DESTDIR)$(LUA_LIBDIR)/kairo 2>/dev/null
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" -eq 0 ] && command -v ldconfig >/dev/null; then ldconfig; fi

# The Lua part alone (the C module, the Lua files, the launcher): what the rockspec installs
# into a LuaRocks tree (kairo-VERSION-1.rockspec passes LUA_LIBDIR, LUA_DIR and BINDIR).
.PHONY: install-lua
install-lua: $(MODULE) $(BUILD)/kairo.launcher
	$(INSTALL) -d $(DESTDIR)$(LUA_LIBDIR) $(DESTDIR)$(LUA_DIR)/kairo $(DESTDIR)$(BINDIR)
	$(INSTALL) -D -m 755 $(MODULE) $(DESTDIR)$(LUA_LIBDIR)/$(MODULE_NAME)
	$(if $(EXTRA_CMODULES),$(INSTALL) -m 755 $(EXTRA_CMODULES) $(DESTDIR)$(LUA_LIBDIR)/kairo/)
	$(if $(EXTRA_CMODULES),$(INSTALL) -m 755 $(EXTRA_CMODULES) $(DESTDIR)$(LUA_LIBDIR)/kairo/)
	cd lua && for f in $(LUA_FILES); do \
	  $(INSTALL) -D -m 644 $$f $(abspath $(DESTDIR)$(LUA_DIR))/$$f || exit 1; done
	$(INSTALL) -m 755 $(BUILD)/kairo.launcher $(DESTDIR)$(BINDIR)/kairo
