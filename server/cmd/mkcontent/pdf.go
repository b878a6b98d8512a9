package main

import (
	"bytes"
	"fmt"
	"strings"
)

// makePDF writes a one-page PDF 1.4 document: a bold title, a rule and
// body lines set in the standard Helvetica fonts, which every reader has,
// so nothing is embedded. Offsets in the cross-reference table are counted
// as the file is written.
func makePDF(title string, body []string) []byte {
	var content strings.Builder
	content.WriteString("0.231 0.357 0.859 rg\n72 706 468 3 re f\n")
	content.WriteString("0.114 0.141 0.2 rg\n")
	fmt.Fprintf(&content, "BT\n/F2 22 Tf\n72 720 Td\n(%s) Tj\nET\n", pdfString(title))
	content.WriteString("BT\n/F1 11 Tf\n15 TL\n72 682 Td\n")
	for i, line := range body {
		if i > 0 {
			content.WriteString("T*\n")
		}
		fmt.Fprintf(&content, "(%s) Tj\n", pdfString(line))
	}
	content.WriteString("ET\n")
	stream := content.String()

	objects := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792]\n" +
			"   /Resources << /Font << /F1 4 0 R /F2 5 0 R >> >>\n" +
			"   /Contents 6 0 R >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(stream), stream),
		fmt.Sprintf("<< /Title (%s) /Producer (httplab mkcontent) >>", pdfString(title)),
	}

	var b bytes.Buffer
	// The second line's high bytes tell transfer tools the file is binary.
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objects))
	for i, obj := range objects {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, obj)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objects)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off) // 20 bytes per entry, as the format requires
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R /Info 7 0 R >>\nstartxref\n%d\n%%%%EOF\n",
		len(objects)+1, xref)
	return b.Bytes()
}

// pdfString escapes text for a PDF literal string. The site's text is
// ASCII, which WinAnsiEncoding maps to itself; anything else is a mistake
// in the generator, not input, so it stops the program.
func pdfString(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			panic(fmt.Sprintf("mkcontent: non-ASCII byte %#x in PDF text %q", c, s))
		}
		if c == '\\' || c == '(' || c == ')' {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}
