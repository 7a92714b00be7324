/* Writes the JPEG seeds of spec/fuzz/jpeg/ with libjpeg-turbo: small grey and colour images,
 * baseline and progressive, with and without restart markers and chroma subsampling.
 *   cc spec/fuzz/seeds_jpeg.c -ljpeg -o /tmp/seeds_jpeg && /tmp/seeds_jpeg spec/fuzz/jpeg */
#include <stdio.h>
#include <stdlib.h>

#include <jpeglib.h>

static void write_one(const char *dir, const char *name, int w, int h, int comp, int progressive,
                      int restart, int subsample)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) { perror(path); exit(1); }
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = comp;
    c.in_color_space = comp == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 75, TRUE);
    if (progressive) jpeg_simple_progression(&c);
    c.restart_interval = (unsigned)restart;
    if (comp == 3 && !subsample) c.comp_info[0].h_samp_factor = c.comp_info[0].v_samp_factor = 1;
    jpeg_start_compress(&c, TRUE);
    unsigned char *row = malloc((size_t)w * comp);
    while (c.next_scanline < c.image_height) {
        for (int x = 0; x < w * comp; x++)
            row[x] = (unsigned char)((x * 7 + (int)c.next_scanline * 13) ^ (x / comp) * 3);
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    fclose(f);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    write_one(dir, "grey-8x8.jpg", 8, 8, 1, 0, 0, 0);
    write_one(dir, "grey-17x9-progressive.jpg", 17, 9, 1, 1, 0, 0);
    write_one(dir, "rgb-16x16-420.jpg", 16, 16, 3, 0, 0, 1);
    write_one(dir, "rgb-13x21-444-restart.jpg", 13, 21, 3, 0, 1, 0);
    write_one(dir, "rgb-24x16-progressive.jpg", 24, 16, 3, 1, 0, 1);
    return 0;
}
