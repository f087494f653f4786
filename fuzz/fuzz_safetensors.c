/* libFuzzer harness: tg_safetensors_load on any bytes written as a file. A
 * refused file must leave the tensor list and metadata empty. */
#include <stdlib.h>

#include "fuzz_tmp.h"
#include "nn/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[FUZZ_PATH_MAX];
    fuzz_write(fuzz_path(path, "input.safetensors"), data, size);
    tg_tensor_list tensors = {0};
    tg_metadata meta = {0};
    if (tg_safetensors_load(path, &tensors, &meta) != 0 && (tensors.n || meta.n)) abort();
    tg_tensor_list_clear(&tensors);
    tg_metadata_clear(&meta);
    return 0;
}
