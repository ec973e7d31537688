#ifndef EMPORIUM_CLMDB_SHIM_H
#define EMPORIUM_CLMDB_SHIM_H
#include <lmdb.h>
#endif
