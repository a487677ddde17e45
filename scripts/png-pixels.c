/* png-pixels.c — prints a picture's width, height and channel count, then its
 * decoded pixels as raw bytes, so that two PNGs with different compressed
 * bytes can be compared by what they show (scripts/same-output.sh).
 *   usage: png-pixels FILE > pixels.raw
 * Built by same-output.sh with Debian's stb_image (libstb-dev). */
#include <stdio.h>
#include <stb_image.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: png-pixels FILE\n");
        return 2;
    }
    int w, h, n;
    unsigned char *p = stbi_load(argv[1], &w, &h, &n, 0);
    if (!p) {
        fprintf(stderr, "png-pixels: %s: %s\n", argv[1], stbi_failure_reason());
        return 1;
    }
    printf("%d %d %d\n", w, h, n);
    fwrite(p, 1, (size_t)w * h * n, stdout);
    stbi_image_free(p);
    return 0;
}
