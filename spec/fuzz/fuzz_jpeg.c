#define FUZZ_MAGIC "\xff\xd8\xff"
#include "fuzz_image.h"
