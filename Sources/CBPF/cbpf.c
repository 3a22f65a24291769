#include "cbpf.h"
