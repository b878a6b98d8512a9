package closing

import "syscall"

const holdFlag = syscall.MSG_MORE
