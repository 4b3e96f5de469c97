//go:build gl

package view

import (
	"fmt"
	"image"
	"strings"

	"github.com/go-gl/gl/v4.6-core/gl"
)

// renderer draws a frame: the panels, composed on the CPU, as one
// textured quad over the window, and the particles on top of it as points
// inside the panels' particle area. Everything it uses is OpenGL 4.5 core
// (direct state access included), so a 4.5 context draws the same.
type renderer struct {
	w, h int

	quadProg, pointProg uint32
	quadVAO             uint32
	tex                 uint32
	pointVAO, pointVBO  uint32
	maxPoints           int
	panelPending        *image.RGBA // composed, not yet uploaded
}

const quadVS = `#version 450 core
out vec2 uv;
void main() {
	// Two triangles over the window, from gl_VertexID alone.
	vec2 p = vec2((gl_VertexID == 1 || gl_VertexID == 4 || gl_VertexID == 5) ? 1.0 : 0.0,
	              (gl_VertexID == 2 || gl_VertexID == 3 || gl_VertexID == 5) ? 1.0 : 0.0);
	uv = vec2(p.x, 1.0 - p.y); // image rows run top to bottom
	gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}
` + "\x00"

const quadFS = `#version 450 core
in vec2 uv;
layout(binding = 0) uniform sampler2D panel;
out vec4 color;
void main() { color = texture(panel, uv); }
` + "\x00"

const pointVS = `#version 450 core
layout(location = 0) in vec2 pos; // [0,1)^2, y up
void main() {
	gl_Position = vec4(pos * 2.0 - 1.0, 0.0, 1.0);
	gl_PointSize = 3.0;
}
` + "\x00"

const pointFS = `#version 450 core
out vec4 color;
void main() {
	vec2 d = gl_PointCoord - vec2(0.5);
	if (dot(d, d) > 0.25) discard; // round points
	color = vec4(1.0, 0.78, 0.25, 1.0);
}
` + "\x00"

func newRenderer(w, h, particles int) (*renderer, error) {
	r := &renderer{w: w, h: h, maxPoints: particles}
	var err error
	if r.quadProg, err = program(quadVS, quadFS); err != nil {
		return nil, fmt.Errorf("view: panel shader: %w", err)
	}
	if r.pointProg, err = program(pointVS, pointFS); err != nil {
		return nil, fmt.Errorf("view: particle shader: %w", err)
	}
	gl.CreateVertexArrays(1, &r.quadVAO)

	gl.CreateTextures(gl.TEXTURE_2D, 1, &r.tex)
	gl.TextureStorage2D(r.tex, 1, gl.RGBA8, int32(w), int32(h))
	gl.TextureParameteri(r.tex, gl.TEXTURE_MIN_FILTER, gl.NEAREST)
	gl.TextureParameteri(r.tex, gl.TEXTURE_MAG_FILTER, gl.NEAREST)

	gl.CreateBuffers(1, &r.pointVBO)
	gl.NamedBufferStorage(r.pointVBO, 8*particles, nil, gl.DYNAMIC_STORAGE_BIT)
	gl.CreateVertexArrays(1, &r.pointVAO)
	gl.VertexArrayVertexBuffer(r.pointVAO, 0, r.pointVBO, 0, 8)
	gl.EnableVertexArrayAttrib(r.pointVAO, 0)
	gl.VertexArrayAttribFormat(r.pointVAO, 0, 2, gl.FLOAT, false, 0)
	gl.VertexArrayAttribBinding(r.pointVAO, 0, 0)
	gl.Enable(gl.PROGRAM_POINT_SIZE)
	if e := gl.GetError(); e != gl.NO_ERROR {
		r.free()
		return nil, fmt.Errorf("view: setting up OpenGL objects: error %#x", e)
	}
	return r, nil
}

// setPanel queues a composed panel image for the next draw.
func (r *renderer) setPanel(img *image.RGBA) { r.panelPending = img }

func (r *renderer) draw(pos []float32, area image.Rectangle) {
	if img := r.panelPending; img != nil {
		gl.PixelStorei(gl.UNPACK_ALIGNMENT, 1)
		gl.PixelStorei(gl.UNPACK_ROW_LENGTH, int32(img.Stride/4))
		gl.TextureSubImage2D(r.tex, 0, 0, 0, int32(r.w), int32(r.h), gl.RGBA, gl.UNSIGNED_BYTE, gl.Ptr(&img.Pix[0]))
		gl.PixelStorei(gl.UNPACK_ROW_LENGTH, 0)
		r.panelPending = nil
	}
	gl.Viewport(0, 0, int32(r.w), int32(r.h))
	gl.ClearColor(0, 0, 0, 1)
	gl.Clear(gl.COLOR_BUFFER_BIT)
	gl.UseProgram(r.quadProg)
	gl.BindTextureUnit(0, r.tex)
	gl.BindVertexArray(r.quadVAO)
	gl.DrawArrays(gl.TRIANGLES, 0, 6)

	n := min(len(pos)/2, r.maxPoints)
	if n == 0 || area.Dx() < 32 || area.Dy() < 32 {
		return
	}
	gl.NamedBufferSubData(r.pointVBO, 0, 8*n, gl.Ptr(&pos[0]))
	// The area is in image coordinates (y down); the viewport's y is up.
	// The simulation's box is square: draw it square, centred, with a
	// margin so that points on the walls show whole.
	side := min(area.Dx(), area.Dy()) - 16
	box := image.Rect(0, 0, side, side).Add(image.Pt(area.Min.X+(area.Dx()-side)/2, area.Min.Y+(area.Dy()-side)/2))
	gl.Viewport(int32(box.Min.X), int32(r.h-box.Max.Y), int32(side), int32(side))
	gl.Enable(gl.SCISSOR_TEST)
	gl.Scissor(int32(area.Min.X), int32(r.h-area.Max.Y), int32(area.Dx()), int32(area.Dy()))
	gl.UseProgram(r.pointProg)
	gl.BindVertexArray(r.pointVAO)
	gl.DrawArrays(gl.POINTS, 0, int32(n))
	gl.Disable(gl.SCISSOR_TEST)
}

// readPixels returns the back buffer as an image, rows top to bottom.
func (r *renderer) readPixels() *image.RGBA {
	buf := make([]byte, 4*r.w*r.h)
	gl.ReadBuffer(gl.BACK)
	gl.PixelStorei(gl.PACK_ALIGNMENT, 1)
	gl.ReadPixels(0, 0, int32(r.w), int32(r.h), gl.RGBA, gl.UNSIGNED_BYTE, gl.Ptr(&buf[0]))
	img := image.NewRGBA(image.Rect(0, 0, r.w, r.h))
	row := 4 * r.w
	for y := range r.h {
		copy(img.Pix[y*img.Stride:y*img.Stride+row], buf[(r.h-1-y)*row:(r.h-y)*row])
	}
	return img
}

func (r *renderer) free() {
	gl.DeleteProgram(r.quadProg)
	gl.DeleteProgram(r.pointProg)
	gl.DeleteVertexArrays(1, &r.quadVAO)
	gl.DeleteVertexArrays(1, &r.pointVAO)
	gl.DeleteBuffers(1, &r.pointVBO)
	gl.DeleteTextures(1, &r.tex)
}

func program(vs, fs string) (uint32, error) {
	v, err := shader(vs, gl.VERTEX_SHADER)
	if err != nil {
		return 0, err
	}
	defer gl.DeleteShader(v)
	f, err := shader(fs, gl.FRAGMENT_SHADER)
	if err != nil {
		return 0, err
	}
	defer gl.DeleteShader(f)
	p := gl.CreateProgram()
	gl.AttachShader(p, v)
	gl.AttachShader(p, f)
	gl.LinkProgram(p)
	var ok int32
	gl.GetProgramiv(p, gl.LINK_STATUS, &ok)
	if ok == gl.FALSE {
		log := infoLog(p, gl.GetProgramiv, gl.GetProgramInfoLog)
		gl.DeleteProgram(p)
		return 0, fmt.Errorf("link: %s", log)
	}
	return p, nil
}

func shader(src string, kind uint32) (uint32, error) {
	s := gl.CreateShader(kind)
	csrc, free := gl.Strs(src)
	gl.ShaderSource(s, 1, csrc, nil)
	free()
	gl.CompileShader(s)
	var ok int32
	gl.GetShaderiv(s, gl.COMPILE_STATUS, &ok)
	if ok == gl.FALSE {
		log := infoLog(s, gl.GetShaderiv, gl.GetShaderInfoLog)
		gl.DeleteShader(s)
		return 0, fmt.Errorf("compile: %s", log)
	}
	return s, nil
}

// infoLog reads the info log of a shader or program object.
func infoLog(obj uint32, param func(uint32, uint32, *int32), get func(uint32, int32, *int32, *uint8)) string {
	var n int32
	param(obj, gl.INFO_LOG_LENGTH, &n)
	log := strings.Repeat("\x00", int(n)+1)
	get(obj, n, nil, gl.Str(log))
	return strings.TrimRight(log, "\x00")
}
