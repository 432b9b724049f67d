#pragma once
// The model as data for Python: the typed graph, the weights file's blocks
// (read and written), and BatchNorm adaptation. dusk.torch builds on these.
#include <pybind11/pybind11.h>

namespace dusk_python {

void add_model_io(pybind11::module_& m);

}  // namespace dusk_python
