/* kairo's C core: the public headers in one include. */
#ifndef KAIRO_H
#define KAIRO_H

#define KR_VERSION "0.2.0"

#include "activation.h"
#include "batch.h"
#include "checkpoint.h"
#include "compare.h"
#include "error.h"
#include "h5.h"
#include "idx.h"
#include "image.h"
#include "io.h"
#include "lapack.h"
#include "linalg.h"
#include "loss.h"
#include "mlp.h"
#include "optim.h"
#include "random.h"
#include "shape.h"
#include "stats.h"
#include "tensor.h"
#include "zipser.h"

#endif
