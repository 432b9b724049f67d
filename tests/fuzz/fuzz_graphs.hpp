#pragma once
// Small graphs the fuzz targets and their seeds share.

namespace dusk::fuzz {

// Every kind of parameter block Darknet stores: conv with and without
// BatchNorm, a grouped conv, [batchnorm], a weighted shortcut, connected with
// BatchNorm; and a yolo head.
inline constexpr const char* kBlockCfg =
    "[net]\nwidth=8\nheight=8\nchannels=3\n"
    "[convolutional]\nfilters=6\nsize=3\npad=1\nbatch_normalize=1\nactivation=leaky\n"
    "[convolutional]\nfilters=6\nsize=3\npad=1\ngroups=3\nactivation=mish\n"
    "[batchnorm]\n"
    "[shortcut]\nfrom=-3\nweights_type=per_channel\nweights_normalization=softmax\n"
    "[convolutional]\nfilters=14\nsize=1\nactivation=linear\n"
    "[yolo]\nmask=0,1\nanchors=2,3,4,5\nclasses=2\nnum=2\n"
    "[route]\nlayers=-3\n"
    "[connected]\noutput=4\nbatch_normalize=1\nactivation=linear\n";

}  // namespace dusk::fuzz
