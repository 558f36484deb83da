#include "Kernel.h"
namespace mp::rt::cpu {
void registerTrainingKernels(Registry &) {}
}
