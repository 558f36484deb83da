#include "Kernel.h"
namespace mp::rt::cpu {
void registerShapeKernels(Registry &) {}
}
