/* kr.load's .npy reader (core/npy.c) under libFuzzer. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    kr_tensor t = {0};
    if (kr_npy_load(&t, fuzz_as_file(data, n)) == KR_OK) kr_tensor_release(&t);
    return 0;
}
