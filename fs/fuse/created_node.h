// CreatedFileNode: what the FUSE adapter serves for a file it has just created (FUSE
// create) until a lookup finds the real node. A directory may not list a new file before
// its handle is flushed (a document is stored at close), yet the kernel needs attributes for
// the new inode at once. Thread-safety: immutable.
#pragma once

#include <memory>

#include "fs/node.h"

namespace agent9 {

class CreatedFileNode final : public Node {
 public:
  using Node::Node;
  Stat GetStat() const override { return Stat{}; }  // a regular file, size 0, direct_io
  Result<std::unique_ptr<Handle>> Open(const OpenFlags&, const Caller&) override {
    return Status::NotFound("file is still being created");
  }
};

}  // namespace agent9
