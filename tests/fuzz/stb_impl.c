/*
 * stb_impl.c — stb_image and stb_image_resize compiled from the installed
 * headers, for the fuzz build only.  Linked before -lstb, these
 * definitions replace the shared library's, so the sanitizers and the
 * fuzzer's coverage reach inside the decoder.  Same source as libstb
 * (Debian builds libstb from these headers); production links -lstb.
 */
#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include <stb_image_resize.h>
