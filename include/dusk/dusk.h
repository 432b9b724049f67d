/* dusk's C API: Darknet/YOLO detection on the CPU, callable from C and any
 * language with a C FFI (C#, Go, Rust, Java, Python ctypes).
 *
 * Rules:
 * - Every call returns a dusk_status; on failure dusk_last_error() gives the
 *   one-line message (thread-local, valid until this thread's next call).
 * - No C++ exception crosses this boundary; a NULL or invalid argument is
 *   DUSK_ERROR_ARGUMENT, never a crash.
 * - A dusk_detector may be used by many threads at once; create and destroy
 *   it from one.
 * - Arrays dusk returns are freed with dusk_detections_free.
 * - Option structs start with struct_size: set it with dusk_options_init so
 *   a program built against this header keeps working when fields are added.
 */
#ifndef DUSK_DUSK_H
#define DUSK_DUSK_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define DUSK_API __declspec(dllexport)
#else
#define DUSK_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define DUSK_C_API_VERSION 1

typedef enum dusk_status {
  DUSK_OK = 0,
  DUSK_ERROR_ARGUMENT = 1, /* NULL pointer, bad size or option value */
  DUSK_ERROR_CFG = 2,      /* the .cfg cannot be read or is not a network dusk runs */
  DUSK_ERROR_WEIGHTS = 3,  /* the .weights file cannot be read or does not fit the cfg */
  DUSK_ERROR_IMAGE = 4,    /* the image cannot be read or decoded, or has no pixels */
  DUSK_ERROR_MEMORY = 5,   /* out of memory */
  DUSK_ERROR_INTERNAL = 6  /* anything else; the message says what */
} dusk_status;

typedef enum dusk_pixel_format { DUSK_PIXELS_RGB = 0, DUSK_PIXELS_BGR = 1 } dusk_pixel_format;

typedef struct dusk_options {
  uint32_t struct_size;    /* sizeof(dusk_options), set by dusk_options_init */
  float threshold;         /* objectness x class probability; default 0.25 */
  float nms;               /* NMS overlap; 0 disables; default 0.45 */
  int letterbox;           /* nonzero: keep the aspect ratio (Darknet's -letter_box) */
  int width, height;       /* network input size; 0: the cfg's */
  int threads;             /* 0: the CPUs this process may use */
  const char* names_path;  /* .names file (one class per line); NULL: class ids as labels */
  /* "auto", "fp32", "bf16" or "int8"; NULL: auto (fp32). A mode the CPU lacks
     runs fp32. Added after 0.1.0: a caller built with the older, smaller
     struct_size gets auto. */
  const char* precision;
  const char* calibration_path; /* int8's ranges from `dusk calibrate`; NULL: none (added after 0.1.0) */
  /* Added after 0.1.0 too, with the command line's names and checks (a
     caller built with the older struct gets the defaults): */
  const char* backend;     /* "auto", "fast" or "ref"; NULL: auto */
  int strict;              /* nonzero: a precision the CPU lacks is an error, not fp32 */
  const char* nms_kind;    /* "default", "greedynms", "diounms", "cornersnms" or "cfg"; NULL: default */
  const char* resize;      /* "darknet", "linear" or "nearest"; NULL: darknet */
  const char* tiles;       /* "CxR" or "auto": each image cut into tiles, detected and merged; NULL: none */
  float tile_overlap;      /* 0 to 0.5; default 0.1 */
  int batch;               /* images per forward pass in dusk_detect_files; default 1; not with tiles */
  long long max_memory_mib; /* refuse networks whose layer outputs need more; default 8192 */
} dusk_options;

typedef struct dusk_detection {
  int class_id;
  float confidence;                 /* objectness x class probability */
  float left, top, width, height;   /* pixels of the original image */
  float center_x, center_y, rel_width, rel_height; /* relative to the image (Darknet's) */
  const char* label;                /* class name; lives as long as the array */
} dusk_detection;

typedef struct dusk_inspect_result {
  uint32_t struct_size;      /* sizeof(dusk_inspect_result) */
  int fits;                  /* 1: the weights fit the cfg exactly */
  int layers;
  int64_t total_params;
  double total_bflops;
  int64_t expected_floats;   /* what the cfg needs */
  int64_t file_floats;       /* what the file holds after its header */
  char verdict[512];         /* one line, as `dusk inspect` prints it */
} dusk_inspect_result;

typedef struct dusk_detector dusk_detector;

DUSK_API const char* dusk_version(void);
DUSK_API int dusk_api_version(void);
DUSK_API const char* dusk_last_error(void);
DUSK_API const char* dusk_status_name(dusk_status status);

DUSK_API void dusk_options_init(dusk_options* options);

DUSK_API dusk_status dusk_detector_create(const char* cfg_path, const char* weights_path, const dusk_options* options,
                                          dusk_detector** detector);
DUSK_API dusk_status dusk_detector_create_from_memory(const char* cfg_text, size_t cfg_size, const void* weights,
                                                      size_t weights_size, const dusk_options* options,
                                                      dusk_detector** detector);
DUSK_API void dusk_detector_destroy(dusk_detector* detector);
/* Class count and network input size of a detector. */
DUSK_API dusk_status dusk_detector_info(const dusk_detector* detector, int* classes, int* width, int* height);

DUSK_API dusk_status dusk_detect_file(const dusk_detector* detector, const char* image_path,
                                      dusk_detection** detections, size_t* count);
/* 8-bit interleaved pixels, `stride` bytes per row (>= 3 * width). */
DUSK_API dusk_status dusk_detect_pixels(const dusk_detector* detector, const uint8_t* pixels, int width, int height,
                                        int stride, dusk_pixel_format format, dusk_detection** detections,
                                        size_t* count);
DUSK_API void dusk_detections_free(dusk_detection* detections);

/* Many image files on parallel workers (dusk's job layer, as `dusk detect`
 * runs a directory). `on_image` is called on the calling thread once per
 * image, in input order, as soon as it and all before it are done: with
 * DUSK_OK and its detections (valid only during the call), or with the
 * image's own error status and message (an image that cannot be read fails
 * alone; the others still run). Returns DUSK_OK when every image worked,
 * DUSK_ERROR_IMAGE when any failed (dusk_last_error: how many), or an
 * argument error before any runs. */
typedef void (*dusk_image_callback)(void* user_data, size_t index, const char* image_path, dusk_status status,
                                    const dusk_detection* detections, size_t count, const char* error);
DUSK_API dusk_status dusk_detect_files(const dusk_detector* detector, const char* const* image_paths, size_t paths,
                                       dusk_image_callback on_image, void* user_data);

/* Tracking (ByteTrack, one tracker per class, IDs unique across classes):
 * feed dusk_tracker_update each frame's detections, as dusk_detect_* gives
 * them with threshold = the tracker's `low`, in frame order. A tracker is one
 * video's state: use one per stream, from one thread at a time. */
typedef struct dusk_tracker_options {
  uint32_t struct_size; /* sizeof(dusk_tracker_options), set by dusk_tracker_options_init */
  float high;           /* matched first above this; new tracks need high + 0.1; default 0.5 */
  float low;            /* weaker detections down to this rescue tracked objects; default 0.1 */
  float match;          /* largest 1 - IoU x score of the first matching; default 0.8 */
  int buffer;           /* frames (at 30 frames/s) a lost track is kept; default 30 */
  double fps;           /* the source's frame rate, which scales the buffer; default 30 */
} dusk_tracker_options;

typedef struct dusk_tracked_object {
  int64_t track_id;       /* from 1, unique across classes */
  size_t detection_index; /* the detection it matched, in the array given to dusk_tracker_update */
} dusk_tracked_object;

typedef struct dusk_tracker dusk_tracker;

DUSK_API void dusk_tracker_options_init(dusk_tracker_options* options);
DUSK_API dusk_status dusk_tracker_create(const dusk_tracker_options* options, dusk_tracker** tracker);
DUSK_API void dusk_tracker_destroy(dusk_tracker* tracker);
/* One frame: the confirmed tracks matched in it. Free *objects with
 * dusk_tracked_objects_free (also when *count is 0). */
DUSK_API dusk_status dusk_tracker_update(dusk_tracker* tracker, const dusk_detection* detections, size_t count,
                                         dusk_tracked_object** objects, size_t* object_count);
DUSK_API void dusk_tracked_objects_free(dusk_tracked_object* objects);

/* Does the weights file fit the cfg? (the verdict and totals of `dusk inspect`) */
DUSK_API dusk_status dusk_inspect(const char* cfg_path, const char* weights_path, dusk_inspect_result* result);

#ifdef __cplusplus
}
#endif

#endif /* DUSK_DUSK_H */
