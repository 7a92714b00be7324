/* The network file reader of net:save / kr.nn.load (core/mlp_io.c) under libFuzzer. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    kr_mlp *net = NULL;
    if (kr_mlp_load(&net, fuzz_as_file(data, n)) == KR_OK) kr_mlp_free(net);
    return 0;
}
