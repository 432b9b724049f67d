// The smallest dusk application: load a detector once, print the boxes it
// finds in an image.   detect_example CFG WEIGHTS NAMES IMAGE
#include <dusk/dusk.hpp>
#include <iostream>

int main(int argc, char** argv) {
  if (argc != 5) return std::cerr << "usage: detect_example CFG WEIGHTS NAMES IMAGE\n", 2;
  try {
    dusk::DetectorOptions options;
    options.labels = dusk::load_labels(argv[3]);
    const dusk::Detector detector(argv[1], argv[2], options);
    for (const dusk::Detection& d : detector.detect(argv[4]))
      std::cout << d.label << " " << d.confidence << " at " << d.box.left << "," << d.box.top << " " << d.box.width
                << "x" << d.box.height << "\n";
  } catch (const dusk::Error& error) {
    return std::cerr << "error: " << error.what() << "\n", 1;
  }
}
