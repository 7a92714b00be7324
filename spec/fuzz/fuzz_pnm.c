#define FUZZ_MAGIC "P"
#include "fuzz_image.h"
