# kr.image's decoders (core/image_*.c): PNG by libspng, JPEG by libjpeg-turbo (Debian's builds,
# fuzzed upstream); stb_image is no longer used (issue 13).
DEB_PKGS += libspng-dev libjpeg62-turbo-dev
BLASLIBS += $(shell pkg-config --libs spng libjpeg)
