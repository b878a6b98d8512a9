package main

import (
	"bytes"
	"encoding/binary"
	"hash/adler32"
	"hash/crc32"
)

// encodePNG writes an 8-bit RGB PNG whose pixel data is stored, not
// compressed. image/png would compress through compress/flate, whose output
// may change with a Go release and break the byte-for-byte check of the
// committed site; stored blocks also make each image's size predictable
// (3·w·h plus a few hundred bytes), which is what the benchmarks want.
func encodePNG(w, h int, pixel func(x, y int) (r, g, b uint8)) []byte {
	raw := make([]byte, 0, (3*w+1)*h)
	for y := range h {
		raw = append(raw, 0) // filter type None
		for x := range w {
			r, g, b := pixel(x, y)
			raw = append(raw, r, g, b)
		}
	}

	var z bytes.Buffer
	z.Write([]byte{0x78, 0x01}) // zlib header: deflate, 32 KiB window, no dictionary
	for off := 0; ; {
		n := min(len(raw)-off, 0xffff)
		final := byte(0)
		if off+n == len(raw) {
			final = 1
		}
		z.WriteByte(final) // BFINAL, BTYPE=00 (stored)
		z.Write(binary.LittleEndian.AppendUint16(nil, uint16(n)))
		z.Write(binary.LittleEndian.AppendUint16(nil, ^uint16(n)))
		z.Write(raw[off : off+n])
		off += n
		if final == 1 {
			break
		}
	}
	z.Write(binary.BigEndian.AppendUint32(nil, adler32.Checksum(raw)))

	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := binary.BigEndian.AppendUint32(nil, uint32(w))
	ihdr = binary.BigEndian.AppendUint32(ihdr, uint32(h))
	ihdr = append(ihdr, 8, 2, 0, 0, 0) // depth 8, truecolour, deflate, adaptive filters, no interlace
	writeChunk(&out, "IHDR", ihdr)
	writeChunk(&out, "IDAT", z.Bytes())
	writeChunk(&out, "IEND", nil)
	return out.Bytes()
}

func writeChunk(out *bytes.Buffer, typ string, data []byte) {
	out.Write(binary.BigEndian.AppendUint32(nil, uint32(len(data))))
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(data)
	out.WriteString(typ)
	out.Write(data)
	out.Write(binary.BigEndian.AppendUint32(nil, crc.Sum32()))
}

// rgb is a colour as three channels; mix blends two by num/den in integers,
// so no floating-point rounding can differ between machines.
type rgb struct{ r, g, b uint8 }

func mix(a, b rgb, num, den int) rgb {
	m := func(x, y uint8) uint8 { return uint8((int(x)*(den-num) + int(y)*num) / den) }
	return rgb{m(a.r, b.r), m(a.g, b.g), m(a.b, b.b)}
}

var (
	ink     = rgb{0x1d, 0x24, 0x33}
	paper   = rgb{0xfb, 0xfb, 0xfd}
	grid    = rgb{0xe3, 0xe6, 0xee}
	indigo  = rgb{0x3b, 0x5b, 0xdb}
	teal    = rgb{0x12, 0xb8, 0x86}
	amber   = rgb{0xf5, 0x9f, 0x00}
	rose    = rgb{0xe6, 0x49, 0x80}
	skyTint = rgb{0xd0, 0xeb, 0xff}
)

// gradientPNG: a diagonal indigo-to-teal blend crossed by soft diagonal
// bands, the lab's banner image.
func gradientPNG(w, h int) []byte {
	return encodePNG(w, h, func(x, y int) (uint8, uint8, uint8) {
		c := mix(indigo, teal, x+y, w+h-2)
		// A triangle wave along the other diagonal, lightening by up to 1/8.
		t := (x - y + 4*h) % 64
		if t > 32 {
			t = 64 - t
		}
		c = mix(c, paper, t, 256)
		return c.r, c.g, c.b
	})
}

// chartPNG: a bar chart of made-up request rates, sequential bars in amber
// and concurrent ones in indigo, on a light grid.
func chartPNG(w, h int, values []int) []byte {
	const margin = 4
	slot := (w - 2*margin) / len(values)
	top := 0
	for _, v := range values {
		top = max(top, v)
	}
	return encodePNG(w, h, func(x, y int) (uint8, uint8, uint8) {
		c := paper
		if y%8 == 0 || x%16 == 0 {
			c = grid
		}
		if y >= h-margin {
			c = ink
		}
		i := (x - margin) / slot
		if x >= margin && i < len(values) {
			inBar := (x-margin)%slot >= 2 && (x-margin)%slot < slot-2
			height := values[i] * (h - 2*margin) / top
			if inBar && y < h-margin && y >= h-margin-height {
				c = amber
				if i%2 == 1 {
					c = indigo
				}
			}
		}
		return c.r, c.g, c.b
	})
}

// coverPNG: a book cover, a rose spine and title bars on a sky tint.
func coverPNG(w, h int) []byte {
	return encodePNG(w, h, func(x, y int) (uint8, uint8, uint8) {
		c := mix(skyTint, indigo, y, h*2)
		// An if chain rather than a switch: coverage tools see a case's
		// condition as outside every block, so mutation testing could not
		// tell these comparisons are tested (by the committed images).
		if x < w/8 {
			c = rose
		} else if y > h/5 && y < h/5+10 && x > w/4 && x < w-w/8 {
			c = paper
		} else if y > h/5+18 && y < h/5+24 && x > w/4 && x < w-w/4 {
			c = mix(paper, skyTint, 1, 2)
		} else if y > h-h/6 && y < h-h/6+4 && x > w/4 && x < w/2 {
			c = amber
		}
		return c.r, c.g, c.b
	})
}

// diagramPNG: clients on the left, one server on the right, lines between
// them: the picture of many connections converging on one listener.
func diagramPNG(w, h int) []byte {
	const clients = 5
	return encodePNG(w, h, func(x, y int) (uint8, uint8, uint8) {
		c := paper
		if (x/10+y/10)%2 == 0 {
			c = mix(paper, grid, 1, 3)
		}
		sx, sy := w-30, h/2
		for i := range clients {
			cx, cy := 20, (2*i+1)*h/(2*clients)
			if x >= cx-8 && x <= cx+8 && y >= cy-6 && y <= cy+6 {
				return teal.r, teal.g, teal.b
			}
			// On the segment from client to server, within a pixel.
			if x > cx+8 && x < sx-12 {
				want := cy + (sy-cy)*(x-cx)/(sx-cx)
				if y-want >= -1 && y-want <= 0 {
					c = ink
				}
			}
		}
		if x >= sx-12 && x <= sx+12 && y >= sy-20 && y <= sy+20 {
			c = indigo
		}
		return c.r, c.g, c.b
	})
}

// tilePNG: the gallery's picture number n, a blend between two of the
// palette's colours with n stripes, so each picture is told apart at a glance.
func tilePNG(w, h, n int) []byte {
	palette := []rgb{indigo, teal, amber, rose, skyTint, ink}
	from, to := palette[n%len(palette)], palette[(n+2)%len(palette)]
	return encodePNG(w, h, func(x, y int) (uint8, uint8, uint8) {
		c := mix(from, to, x, w-1)
		if stripe := w / (n + 1); x%stripe == 0 || (y > h-10 && x < n*w/12) {
			c = paper
		}
		return c.r, c.g, c.b
	})
}

// faviconICO is /favicon.ico: one 16×16 PNG in an ICO container, which
// every current browser reads. The site's pages name an inline icon and
// never ask for it; a browser viewing a picture or a PDF directly does.
func faviconICO() []byte {
	img := encodePNG(16, 16, func(x, y int) (uint8, uint8, uint8) {
		c := indigo
		if (x >= 4 && x <= 5 || x >= 10 && x <= 11) && y >= 4 && y <= 11 || (y >= 7 && y <= 8 && x >= 4 && x <= 11) {
			c = paper
		}
		return c.r, c.g, c.b
	})
	b := []byte{0, 0, 1, 0, 1, 0, // reserved, type 1 (icon), one image
		16, 16, 0, 0, 1, 0, 32, 0} // 16×16, no palette, reserved, 1 plane, 32 bits
	b = binary.LittleEndian.AppendUint32(b, uint32(len(img)))
	b = binary.LittleEndian.AppendUint32(b, 6+16) // the image follows the one entry
	return append(b, img...)
}
