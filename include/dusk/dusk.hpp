#pragma once
// Everything a dusk application needs.
#include "dusk/calibration.hpp"
#include "dusk/cfg.hpp"
#include "dusk/detector.hpp"
#include "dusk/error.hpp"
#include "dusk/eval.hpp"
#include "dusk/graph.hpp"
#include "dusk/image.hpp"
#include "dusk/network.hpp"
#include "dusk/tiles.hpp"
#include "dusk/track.hpp"
#include "dusk/counting.hpp"
#include "dusk/weights.hpp"
