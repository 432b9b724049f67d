#pragma once
// What every file of dusk._dusk shares: dusk::Error mapped to the Python
// exception classes of dusk/__init__.py, and work run without the GIL.
#include <pybind11/pybind11.h>

#include <optional>
#include <string>

#include "dusk/error.hpp"
#include "dusk/options.hpp"

namespace dusk_python {

namespace py = pybind11;

// Python exception classes, created in dusk/__init__.py and handed over by
// _set_error_classes: Error, CfgError, WeightsError, ImageError.
struct ErrorClasses {
  py::object error, cfg, weights, image;
};
inline ErrorClasses& error_classes() {
  static ErrorClasses* classes = new ErrorClasses();  // never destroyed: lives as long as the interpreter
  return *classes;
}

enum class Stage { General, Cfg, Weights, Image };

[[noreturn]] inline void raise(Stage stage, const std::string& message) {
  const ErrorClasses& c = error_classes();
  const py::object& type = stage == Stage::Cfg ? c.cfg : stage == Stage::Weights ? c.weights : stage == Stage::Image ? c.image : c.error;
  if (!type) throw std::runtime_error(message);
  PyErr_SetString(type.ptr(), message.c_str());
  throw py::error_already_set();
}

// Runs `body` with the GIL released; dusk errors become the stage's exception.
template <class Body>
auto without_gil(Stage stage, Body&& body) {
  std::optional<std::string> failure;
  Stage failed_stage = stage;
  using Result = decltype(body());
  std::optional<Result> result;
  {
    py::gil_scoped_release release;
    try {
      result.emplace(body());
    } catch (const dusk::OptionError& error) {  // the option as Python spells it
      failure = error.message(dusk::Shell::Python);
      failed_stage = Stage::General;
    } catch (const dusk::Error& error) {  // options it names are spelled as keywords
      failure = error.message(dusk::Shell::Python);
    } catch (const std::bad_alloc&) {
      failure = "out of memory; try a smaller image or input size";
      failed_stage = Stage::General;
    }
  }
  if (failure) raise(failed_stage, *failure);
  return std::move(*result);
}

}  // namespace dusk_python
