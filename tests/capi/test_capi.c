/* The C API from C (compiled as C99, linked through pkg-config):
 *   test_capi CFG WEIGHTS NAMES OTHER_CFG IMAGE...
 * prints each image's detections as "path class_id confidence cx cy w h",
 * for the calling script to compare with `dusk detect --json`, and checks
 * every error path and 8 threads on one detector. Exit code 0 when all hold. */
#include <dusk/dusk.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;
#define EXPECT(cond)                                                   \
  do {                                                                 \
    if (!(cond)) {                                                     \
      fprintf(stderr, "test_capi.c:%d: failed: %s\n", __LINE__, #cond); \
      ++failures;                                                      \
    }                                                                  \
  } while (0)
/* A failing call: the status, and a one-line message that mentions `word`. */
#define EXPECT_ERROR(call, status, word)                                                              \
  do {                                                                                                \
    dusk_status s_ = (call);                                                                          \
    if (s_ != (status) || strstr(dusk_last_error(), (word)) == NULL || strchr(dusk_last_error(), '\n')) { \
      fprintf(stderr, "test_capi.c:%d: %s gave %s: '%s', expected %s mentioning '%s'\n", __LINE__, #call,  \
              dusk_status_name(s_), dusk_last_error(), dusk_status_name(status), (word));               \
      ++failures;                                                                                     \
    }                                                                                                 \
  } while (0)

typedef struct {
  const dusk_detector* detector;
  const char* image;
  const dusk_detection* expected;
  size_t expected_count;
  int mismatches;
} worker_args;

static int same(const dusk_detection* a, size_t na, const dusk_detection* b, size_t nb) {
  size_t i;
  if (na != nb) return 0;
  for (i = 0; i < na; ++i) {
    if (a[i].class_id != b[i].class_id || a[i].confidence != b[i].confidence || a[i].left != b[i].left ||
        a[i].top != b[i].top || a[i].width != b[i].width || a[i].height != b[i].height || strcmp(a[i].label, b[i].label))
      return 0;
  }
  return 1;
}

/* What dusk_detect_files handed over, per image. */
typedef struct {
  size_t calls;
  size_t order_errors;
  dusk_status status[3];
  size_t count[3];
  int class_id[3];
  float confidence[3];
  char error[3][256];
} files_seen;

static void on_image(void* user_data, size_t index, const char* image_path, dusk_status status,
                     const dusk_detection* detections, size_t count, const char* error) {
  files_seen* seen = (files_seen*)user_data;
  (void)image_path;
  if (index != seen->calls++ || index >= 3) {
    ++seen->order_errors;
    return;
  }
  seen->status[index] = status;
  seen->count[index] = count;
  seen->class_id[index] = count > 0 ? detections[0].class_id : -1;
  seen->confidence[index] = count > 0 ? detections[0].confidence : 0.0f;
  snprintf(seen->error[index], sizeof seen->error[index], "%s", error ? error : "");
}

static void* worker(void* raw) {
  worker_args* args = (worker_args*)raw;
  int i;
  for (i = 0; i < 50; ++i) {
    dusk_detection* found = NULL;
    size_t count = 0;
    if (dusk_detect_file(args->detector, args->image, &found, &count) != DUSK_OK ||
        !same(found, count, args->expected, args->expected_count))
      ++args->mismatches;
    dusk_detections_free(found);
  }
  return NULL;
}

int main(int argc, char** argv) {
  const char *cfg, *weights, *names, *other_cfg;
  dusk_options options;
  dusk_detector* detector = NULL;
  dusk_detector* scratch = NULL;
  dusk_detection* found = NULL;
  size_t count = 0;
  int i, classes = 0, width = 0, height = 0;
  if (argc < 6) {
    fprintf(stderr, "usage: test_capi CFG WEIGHTS NAMES OTHER_CFG IMAGE...\n");
    return 2;
  }
  cfg = argv[1];
  weights = argv[2];
  names = argv[3];
  other_cfg = argv[4];
  EXPECT(dusk_api_version() == DUSK_C_API_VERSION);
  EXPECT(strlen(dusk_version()) > 0);

  /* Creation errors, each with its status and message. */
  dusk_options_init(&options);
  EXPECT_ERROR(dusk_detector_create(NULL, weights, &options, &scratch), DUSK_ERROR_ARGUMENT, "NULL");
  EXPECT(scratch == NULL);
  EXPECT_ERROR(dusk_detector_create(cfg, weights, &options, NULL), DUSK_ERROR_ARGUMENT, "NULL");
  EXPECT_ERROR(dusk_detector_create("/nonexistent.cfg", weights, &options, &scratch), DUSK_ERROR_CFG, "nonexistent.cfg");
  EXPECT_ERROR(dusk_detector_create(cfg, "/nonexistent.weights", &options, &scratch), DUSK_ERROR_WEIGHTS,
               "nonexistent.weights");
  EXPECT_ERROR(dusk_detector_create(other_cfg, weights, &options, &scratch), DUSK_ERROR_WEIGHTS, "weights");
  EXPECT_ERROR(dusk_detector_create_from_memory("[net]\nwidth=", 12, "x", 1, &options, &scratch), DUSK_ERROR_CFG,
               "cfg in memory");
  options.struct_size = 0;
  EXPECT_ERROR(dusk_detector_create(cfg, weights, &options, &scratch), DUSK_ERROR_ARGUMENT, "struct_size");
  dusk_options_init(&options);
  options.threshold = 2.0f;
  EXPECT_ERROR(dusk_detector_create(cfg, weights, &options, &scratch), DUSK_ERROR_ARGUMENT, "threshold");
  dusk_options_init(&options);
  options.names_path = "/nonexistent.names";
  EXPECT_ERROR(dusk_detector_create(cfg, weights, &options, &scratch), DUSK_ERROR_ARGUMENT, "nonexistent.names");
  EXPECT(scratch == NULL);
  dusk_options_init(&options);
  options.precision = "fp8";
  EXPECT_ERROR(dusk_detector_create(cfg, weights, &options, &scratch), DUSK_ERROR_ARGUMENT, "precision 'fp8'");
  /* A library limit names the field that raises it, as C spells it. */
  dusk_options_init(&options);
  EXPECT(options.max_memory_mib == 8192);
  options.width = options.height = 4096;
  options.max_memory_mib = 1;
  EXPECT_ERROR(dusk_detector_create(cfg, weights, &options, &scratch), DUSK_ERROR_WEIGHTS,
               "raise the limit (dusk_options.max_memory_mib)");
  options.max_memory_mib = 0;
  EXPECT_ERROR(dusk_detector_create(cfg, weights, &options, &scratch), DUSK_ERROR_ARGUMENT,
               "dusk_options.max_memory_mib 0 is out of range");

  dusk_options_init(&options);
  options.names_path = names;
  if (dusk_detector_create(cfg, weights, &options, &detector) != DUSK_OK) {
    fprintf(stderr, "test_capi: %s\n", dusk_last_error());
    return 1;
  }
  EXPECT(dusk_detector_info(detector, &classes, &width, &height) == DUSK_OK);
  EXPECT(classes == 80 && width > 0 && height > 0);

  /* Detection errors. */
  EXPECT_ERROR(dusk_detect_file(detector, "/nonexistent.jpg", &found, &count), DUSK_ERROR_IMAGE, "nonexistent.jpg");
  EXPECT_ERROR(dusk_detect_file(detector, names, &found, &count), DUSK_ERROR_IMAGE, "coco.names");
  EXPECT_ERROR(dusk_detect_file(NULL, argv[5], &found, &count), DUSK_ERROR_ARGUMENT, "NULL");
  EXPECT_ERROR(dusk_detect_file(detector, argv[5], NULL, &count), DUSK_ERROR_ARGUMENT, "NULL");
  {
    unsigned char pixels[4 * 3 * 3];
    memset(pixels, 128, sizeof(pixels));
    EXPECT_ERROR(dusk_detect_pixels(detector, pixels, 4, 3, 11, DUSK_PIXELS_BGR, &found, &count), DUSK_ERROR_ARGUMENT,
                 "stride");
    EXPECT_ERROR(dusk_detect_pixels(detector, pixels, 0, 0, 12, DUSK_PIXELS_BGR, &found, &count), DUSK_ERROR_ARGUMENT,
                 "0x0");
    EXPECT_ERROR(dusk_detect_pixels(detector, pixels, 4, 3, 12, (dusk_pixel_format)7, &found, &count),
                 DUSK_ERROR_ARGUMENT, "format");
    EXPECT_ERROR(dusk_detect_pixels(detector, NULL, 4, 3, 12, DUSK_PIXELS_BGR, &found, &count), DUSK_ERROR_ARGUMENT,
                 "NULL");
    /* A tiny grey image is valid input. */
    EXPECT(dusk_detect_pixels(detector, pixels, 4, 3, 12, DUSK_PIXELS_RGB, &found, &count) == DUSK_OK);
    EXPECT(strcmp(dusk_last_error(), "") == 0);
    dusk_detections_free(found);
  }
  {
    dusk_inspect_result report;
    memset(&report, 0, sizeof(report));
    EXPECT_ERROR(dusk_inspect(cfg, weights, &report), DUSK_ERROR_ARGUMENT, "struct_size");
    report.struct_size = sizeof(report);
    EXPECT(dusk_inspect(cfg, weights, &report) == DUSK_OK);
    EXPECT(report.fits == 1 && report.expected_floats == report.file_floats && report.total_params > 0);
    EXPECT(strstr(report.verdict, "fits") != NULL);
    EXPECT(dusk_inspect(other_cfg, weights, &report) == DUSK_OK);
    EXPECT(report.fits == 0 && strstr(report.verdict, "short") != NULL);
    EXPECT_ERROR(dusk_inspect("/nonexistent.cfg", weights, &report), DUSK_ERROR_CFG, "nonexistent.cfg");
  }

  /* Detections of every image, for the script to compare with dusk detect. */
  for (i = 5; i < argc; ++i) {
    size_t k;
    if (dusk_detect_file(detector, argv[i], &found, &count) != DUSK_OK) {
      fprintf(stderr, "test_capi: %s\n", dusk_last_error());
      ++failures;
      continue;
    }
    for (k = 0; k < count; ++k) {
      printf("%s %d %.6f %.6f %.6f %.6f %.6f %s\n", argv[i], found[k].class_id, found[k].confidence,
             found[k].center_x, found[k].center_y, found[k].rel_width, found[k].rel_height, found[k].label);
    }
    dusk_detections_free(found);
  }

  /* 8 threads x 50 detections on one detector equal the sequential result. */
  {
    pthread_t threads[8];
    worker_args args[8];
    EXPECT(dusk_detect_file(detector, argv[5], &found, &count) == DUSK_OK);
    for (i = 0; i < 8; ++i) {
      args[i].detector = detector;
      args[i].image = argv[5];
      args[i].expected = found;
      args[i].expected_count = count;
      args[i].mismatches = 0;
      pthread_create(&threads[i], NULL, worker, &args[i]);
    }
    for (i = 0; i < 8; ++i) {
      pthread_join(threads[i], NULL);
      EXPECT(args[i].mismatches == 0);
    }
    dusk_detections_free(found);
  }
  /* Many files: results in input order; a missing image fails alone, the
     others equal dusk_detect_file's (to float noise: the images share the
     threads, and a plan for fewer threads may pick other kernels). */
  {
    const char* list[3];
    files_seen seen;
    size_t k;
    list[0] = argv[5];
    list[1] = "/nonexistent.jpg";
    list[2] = argc > 6 ? argv[6] : argv[5];
    memset(&seen, 0, sizeof seen);
    EXPECT_ERROR(dusk_detect_files(detector, list, 3, on_image, &seen), DUSK_ERROR_IMAGE, "1 of 3 images failed");
    EXPECT(seen.calls == 3 && seen.order_errors == 0);
    EXPECT(seen.status[0] == DUSK_OK && seen.status[2] == DUSK_OK && seen.status[1] == DUSK_ERROR_IMAGE);
    EXPECT(strstr(seen.error[1], "nonexistent.jpg") != NULL);
    for (k = 0; k < 3; k += 2) {
      EXPECT(dusk_detect_file(detector, list[k], &found, &count) == DUSK_OK);
      EXPECT(count == seen.count[k] && count > 0);
      if (count > 0) {
        EXPECT(found[0].class_id == seen.class_id[k]);
        EXPECT(found[0].confidence - seen.confidence[k] < 1e-3f && seen.confidence[k] - found[0].confidence < 1e-3f);
      }
      dusk_detections_free(found);
    }
    memset(&seen, 0, sizeof seen);
    EXPECT(dusk_detect_files(detector, list, 1, on_image, &seen) == DUSK_OK && seen.calls == 1);
    EXPECT(dusk_detect_files(detector, NULL, 0, on_image, &seen) == DUSK_OK);
    EXPECT_ERROR(dusk_detect_files(detector, list, 3, NULL, &seen), DUSK_ERROR_ARGUMENT, "NULL");
  }
  /* Tracking: two objects moving apart keep IDs 1 and 2; a third appears,
     is confirmed on its second frame; bad options and arguments refused. */
  {
    dusk_tracker_options topt;
    dusk_tracker* tracker = NULL;
    dusk_tracked_object* objects = NULL;
    size_t n = 0;
    int frame;
    dusk_tracker_options_init(&topt);
    EXPECT(topt.high == 0.5f && topt.low == 0.1f && topt.buffer == 30 && topt.fps == 30.0);
    topt.low = 0.7f;
    EXPECT_ERROR(dusk_tracker_create(&topt, &tracker), DUSK_ERROR_ARGUMENT, "low");
    EXPECT(tracker == NULL);
    dusk_tracker_options_init(&topt);
    EXPECT(dusk_tracker_create(&topt, &tracker) == DUSK_OK);
    for (frame = 0; frame < 20; ++frame) {
      dusk_detection d[3];
      size_t k, count3 = frame >= 10 ? 3 : 2;
      memset(d, 0, sizeof d);
      d[0].class_id = 0, d[0].confidence = 0.9f, d[0].left = 10.0f + 4 * frame, d[0].top = 20, d[0].width = 40, d[0].height = 80;
      d[1].class_id = 0, d[1].confidence = 0.8f, d[1].left = 300.0f - 4 * frame, d[1].top = 20, d[1].width = 40, d[1].height = 80;
      d[2].class_id = 2, d[2].confidence = 0.9f, d[2].left = 150, d[2].top = 200, d[2].width = 60, d[2].height = 30;
      EXPECT(dusk_tracker_update(tracker, d, count3, &objects, &n) == DUSK_OK);
      EXPECT(n == (frame == 10 ? 2 : count3));
      for (k = 0; k < n; ++k) {
        const int64_t want = objects[k].detection_index == 0 ? 1 : objects[k].detection_index == 1 ? 2 : 3;
        EXPECT(objects[k].track_id == want);
      }
      dusk_tracked_objects_free(objects);
    }
    EXPECT_ERROR(dusk_tracker_update(tracker, NULL, 2, &objects, &n), DUSK_ERROR_ARGUMENT, "detections");
    EXPECT(dusk_tracker_update(tracker, NULL, 0, &objects, &n) == DUSK_OK && n == 0);
    dusk_tracked_objects_free(objects);
    dusk_tracker_destroy(tracker);
    dusk_tracker_destroy(NULL);
  }
  dusk_detector_destroy(detector);
  dusk_detector_destroy(NULL);
  fprintf(stderr, "test_capi: %s\n", failures == 0 ? "all checks passed" : "FAILED");
  return failures == 0 ? 0 : 1;
}
