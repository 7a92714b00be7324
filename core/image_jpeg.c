/* JPEG through libjpeg-turbo (Debian libjpeg62-turbo-dev).  See image_decode.h.
 *
 * libjpeg reports errors by calling error_exit, which must not return: it longjmps back here.
 * Its warnings (a premature end of data, corrupt entropy data, extraneous bytes) are errors
 * too, since libjpeg goes on with grey or repeated blocks in place of what is missing. */
#include "image_decode.h"

#include <setjmp.h>
#include <stdio.h> /* jpeglib.h needs FILE */
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

/* A Huffman-coded JPEG spends at least a bit on each 8x8 block of each scan that codes it,
 * so n bytes hold at most 512 n pixels; 1024 n leaves room.  Arithmetic coding can go far
 * below a bit per block: for it only max_pixels bounds the size. */
#define JPEG_PIXELS_PER_BYTE 1024u
/* Progressive files may repeat scans without end (each one is a pass over the image). */
#define JPEG_MAX_SCANS 1000

typedef struct jpeg_guard {
    struct jpeg_error_mgr mgr;
    struct jpeg_progress_mgr progress;
    jmp_buf back;
    char message[JMSG_LENGTH_MAX];
    unsigned char *volatile out; /* freed on the way out */
} jpeg_guard;

static void guard_exit(j_common_ptr cinfo)
{
    jpeg_guard *g = (jpeg_guard *)(void *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, g->message);
    longjmp(g->back, 1);
}

static void guard_message(j_common_ptr cinfo, int level)
{
    if (level < 0) guard_exit(cinfo); /* a warning: the data is corrupt or cut short */
}

static void guard_progress(j_common_ptr cinfo)
{
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    jpeg_guard *g = (jpeg_guard *)(void *)cinfo->err;
    if (d->input_scan_number > JPEG_MAX_SCANS) {
        snprintf(g->message, sizeof g->message, "more than %d scans", JPEG_MAX_SCANS);
        longjmp(g->back, 1);
    }
}

kr_status kr_jpeg_decode(kr_samples *px, const unsigned char *buf, size_t n, const char *op,
                         const char *name, int64_t max_pixels)
{
    struct jpeg_decompress_struct d;
    jpeg_guard g;
    memset(&g, 0, sizeof g);
    d.err = jpeg_std_error(&g.mgr);
    g.mgr.error_exit = guard_exit;
    g.mgr.emit_message = guard_message;
    g.out = NULL;
    if (setjmp(g.back)) {
        jpeg_destroy_decompress(&d);
        free(g.out);
        return kr_fail(KR_EFORMAT, "%s: cannot decode '%s': %s (JPEG)", op, name, g.message);
    }
    jpeg_create_decompress(&d);
    g.progress.progress_monitor = guard_progress;
    d.progress = &g.progress;
    d.mem->max_memory_to_use = 1L << 30;
    jpeg_mem_src(&d, buf, (unsigned long)n);
    jpeg_read_header(&d, TRUE);
    kr_status st = kr_image_check_size(op, name, d.image_width, d.image_height, max_pixels, n,
                                       d.arith_code ? 0 : JPEG_PIXELS_PER_BYTE);
    if (st != KR_OK) {
        jpeg_destroy_decompress(&d);
        return st;
    }
    d.out_color_space = d.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_start_decompress(&d);
    int comp = d.output_components;
    size_t row = (size_t)d.output_width * (size_t)comp;
    g.out = malloc(row * d.output_height > 0 ? row * d.output_height : 1);
    if (g.out == NULL) {
        jpeg_destroy_decompress(&d);
        return kr_fail(KR_ENOMEM, "%s: '%s': out of memory for %zu bytes", op, name,
                       row * d.output_height);
    }
    while (d.output_scanline < d.output_height) {
        JSAMPROW r = g.out + (size_t)d.output_scanline * row;
        jpeg_read_scanlines(&d, &r, 1);
    }
    jpeg_finish_decompress(&d); /* reads on to the end-of-image marker */
    px->data = g.out;
    px->is16 = 0;
    px->scale = 1.0 / 255.0;
    px->w = (int)d.output_width;
    px->h = (int)d.output_height;
    px->comp = comp;
    jpeg_destroy_decompress(&d);
    return KR_OK;
}
