"""Where the Python tests find the model, the samples and the programs (run_pytest.sh sets the variables)."""
import os
from pathlib import Path

SHARED = Path(os.environ["DUSK_SHARED_DIR"])
SOURCE = Path(os.environ["DUSK_SOURCE_DIR"])
BUILD = Path(os.environ["DUSK_BUILD_DIR"])
DUSK = os.environ["DUSK_BINARY"]
MODEL = SHARED / "models" / "yolo-fastest-1.1"
CFG, WEIGHTS, NAMES = str(MODEL) + ".cfg", str(MODEL) + ".weights", str(SHARED / "models" / "coco.names")
# Darknet's sample images (package darknet).
SAMPLES = [f"/usr/share/darknet/data/{n}.jpg" for n in ("dog", "horses", "person", "kite", "eagle", "giraffe")]
