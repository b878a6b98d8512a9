//go:build unix && !linux

package closing

const holdFlag = 0
