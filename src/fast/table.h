/*
 * fast/table.h — a variant's table of entry points, for the variant file
 * to include after it has closed its target pragma: the table and the
 * function that hands it out need no particular instruction set.
 */
static const dl_fast_variant variant_table = {
    DL_SIMD_LEVEL == 2 ? DL_SIMD_AVX512 : DL_SIMD_LEVEL == 1 ? DL_SIMD_AVX2 : DL_SIMD_GENERIC,
    &fast_ops, fast_evaluate, first_forward, transpose_in};

const dl_fast_variant *DL_VNAME(dl_fast)(void) { return &variant_table; }
