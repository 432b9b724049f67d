/* The C API, compiled as C, with the options of tests/python/test_parity.py:
 * one line per detection, as parity_cpp prints them.
 *   parity_c CFG WEIGHTS NAMES IMAGE... */
#include <dusk/dusk.h>
#include <stdio.h>

static void on_image(void* user_data, size_t index, const char* image_path, dusk_status status,
                     const dusk_detection* detections, size_t count, const char* error) {
  size_t k;
  int* failures = (int*)user_data;
  (void)index;
  if (status != DUSK_OK) {
    fprintf(stderr, "parity_c: %s\n", error);
    ++*failures;
    return;
  }
  for (k = 0; k < count; ++k) {
    const dusk_detection* d = &detections[k];
    printf("%s %d %.9g %.9g %.9g %.9g %.9g %s\n", image_path, d->class_id, d->center_x, d->center_y, d->rel_width,
           d->rel_height, d->confidence, d->label);
  }
}

int main(int argc, char** argv) {
  dusk_options options;
  dusk_detector* detector = NULL;
  int failures = 0;
  if (argc < 5) {
    fprintf(stderr, "usage: parity_c CFG WEIGHTS NAMES IMAGE...\n");
    return 2;
  }
  dusk_options_init(&options);
  options.threshold = 0.3f;
  options.nms_kind = "diounms";
  options.resize = "linear";
  options.letterbox = 1;
  options.precision = "bf16";
  options.threads = 1;
  options.tiles = "2x2";
  options.names_path = argv[3];
  if (dusk_detector_create(argv[1], argv[2], &options, &detector) != DUSK_OK) {
    fprintf(stderr, "parity_c: %s\n", dusk_last_error());
    return 1;
  }
  if (dusk_detect_files(detector, (const char* const*)(argv + 4), (size_t)(argc - 4), on_image, &failures) != DUSK_OK) {
    fprintf(stderr, "parity_c: %s\n", dusk_last_error());
  }
  dusk_detector_destroy(detector);
  return failures == 0 ? 0 : 1;
}
