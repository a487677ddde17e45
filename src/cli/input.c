/*
 * input.c — what the picture commands share: the label font and loading
 * "the input" from an image file or from an IDX file by index.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "digitlens/canvas.h"
#include "digitlens/digit.h"
#include "digitlens/image.h"

struct dl_font *cli_font(void)
{
    const char *env = getenv("DIGITLENS_FONT");
    /* A missing font is not an error: pictures fall back to the pixel font. */
    if (env && *env) return dl_font_load(env, NULL);
    return dl_font_default(NULL);
}

static dl_status load_into(const dl_model *m, const char *image, const char *images, int index,
                           float *x, char *desc, size_t desc_cap, dl_err *e)
{
    if (image) {
        snprintf(desc, desc_cap, "%s", image);
        return dl_image_load_mnist(image, m->rows, m->cols, x, e);
    }
    dl_dataset *d = NULL;
    dl_status st = dl_idx_load_images(images, &d, e);
    if (st != DL_OK) return st;
    if (d->rows != m->rows || d->cols != m->cols)
        st = dl_err_set(e, DL_EFORMAT, "%s: images are %dx%d but the model expects %dx%d", images, d->rows,
                        d->cols, m->rows, m->cols);
    else if (index < 0 || (size_t)index >= d->n)
        st = dl_err_set(e, DL_EINVAL, "--index %d is out of range (the file has %zu images: 0..%zu)", index,
                        d->n, d->n ? d->n - 1 : 0);
    else {
        dl_dataset_image(d, (size_t)index, x);
        snprintf(desc, desc_cap, "%s #%d", images, index);
    }
    dl_dataset_free(d);
    return st;
}

dl_status cli_load_input(const dl_model *m, const char *image, const char *images, int index,
                         float **x, char *desc, size_t desc_cap, dl_err *e)
{
    *x = malloc((size_t)m->net->sizes[0] * sizeof(float));
    if (!*x) return dl_err_set(e, DL_ENOMEM, "out of memory");
    dl_status st = load_into(m, image, images, index, *x, desc, desc_cap, e);
    if (st != DL_OK) {
        free(*x);
        *x = NULL;
    }
    return st;
}

const char *cli_base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s && s[1] ? s + 1 : path;
}

int cli_output_of(const dl_model *m, int digit)
{
    for (int k = 0; k < m->nclasses; k++)
        if (m->classes[k] == digit) return k;
    return -1;
}

int cli_predict(const dl_model *m, const float *x, dl_err *e)
{
    dl_trace *t = dl_trace_new(m->net, e);
    if (!t) return -1;
    int k = dl_argmax(dl_net_forward(m->net, x, t), m->net->sizes[m->net->nlayers - 1]);
    dl_trace_free(t);
    return k;
}
