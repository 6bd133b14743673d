"""The rig's shaded look: a physically based GLSL shader and the sun that casts its shadows.

Why our own shader and not panda3d-simplepbr: under EGL offscreen (HEADLESS.md) simplepbr
0.13 draws, but with shadows enabled the first frame segfaults (rc 139, with or without MSAA
or GLSL 330), and without shadows it needs a render-to-texture pass (FilterManager) and glTF
materials the rig's vertex-coloured meshes do not have. Ursina's lit_with_shadows_shader adds
light instead of multiplying it (flat, plastic look) and uses a constant depth bias on a shadow
map Ursina refits to the whole scene (4 m of floor in 1024 texels): that acne is the leg
striping and the dashed saw-teeth on slab edges.

This shader (GLSL 150, runs on llvmpipe and any GL 3.2 GPU):
- base colour from the vertex colours (sRGB, so the drift colours still read), metallic,
  roughness and brush axis per vertex from the texture coordinates (view/materials.py); a
  saturated colour (drift, damage, paint) is drawn non-metallic so that it reads;
- sun: GGX specular, anisotropic along the brush axis (brushed aluminium streaks the
  highlight across its grain), Smith visibility, Schlick Fresnel, Lambert diffuse;
- ambient: a lab-like environment (dark floor, grey walls, ceiling with light strips) for
  reflections, blurred by roughness, and a sky/ground hemisphere for diffuse;
- soft shadows: 4 taps of a disc rotated per pixel (PCF) on a 2048^2 map fitted to the rig
  (12 taps looked the same at 1080p and cost the frame 1.8-2.2x the classic look on llvmpipe,
  4 taps 1.45-1.5x, both with the floor lit per pixel), with a normal-offset bias (no acne on
  thin legs or grazing slab edges);
- ACES tone mapping, and the floor fading into the background away from the rig;
- the floor lit per vertex (flat and rough: its light changes slowly across it), per pixel
  only its shadow and fade (renders within 4 of 255 levels of lighting it per pixel).
"""

from __future__ import annotations

from ursina import Shader, Vec2, Vec3, Vec4

from twin3d.view.engine import BACKGROUND

SHADOW_MAP_PX = 2048
# On software GL (llvmpipe) the shadow pass (its 2048^2 clear and the rig drawn again) costs the
# kiosk frame ~10 %: there it runs on every SHADOW_EVERY_SOFTWARE-th frame, and the frames
# between sample the last map (a sway up to two frames old). Kiosk frames, shaded look against
# classic: every frame 1.27x, every 2nd and 3rd 1.15x, but in the operator view every 2nd was
# the slower of the two (1.35-1.53x against 1.26-1.35x). On a GPU it runs every frame.
SHADOW_EVERY_SOFTWARE = 3

_LIGHT = """
uniform struct { vec4 position; vec3 color; sampler2DShadow shadowMap; mat4 shadowViewMatrix; }
    p3d_LightSource[1];
"""

# The surface's response to the sun and the lab around it, in one place for both ways of
# shading: per pixel on the rig, per vertex on the floor (_FLOOR below).
_SHADING = """
uniform mat4 p3d_ViewMatrix;
uniform float exposure;
const float PI = 3.14159265;

vec3 environment(vec3 r, vec3 up, vec3 east, float rough) {
    // a lab: dark floor, grey walls, bright ceiling with rows of light strips; rough surfaces
    // see it blurred (the strips fade into the ceiling's mean)
    float h = dot(r, up);
    vec3 floor_c = vec3(0.09, 0.09, 0.095), wall = vec3(0.34, 0.35, 0.37);
    vec3 ceiling = vec3(0.62, 0.63, 0.66);
    float blur = 0.15 + 0.6 * rough;
    vec3 c = mix(floor_c, wall, smoothstep(-0.3 - blur, 0.05 + blur, h));
    c = mix(c, ceiling, smoothstep(0.1, 0.75 + blur, h));
    float strips = pow(0.5 + 0.5 * cos(dot(r, east) * 9.0), mix(24.0, 1.0, rough));
    c += vec3(1.6, 1.6, 1.55) * strips * smoothstep(0.25, 0.8, h) * (1.0 - rough);
    return c;
}

vec3 aces(vec3 x) {
    return clamp((x * (2.51 * x + 0.03)) / (x * (2.43 * x + 0.59) + 0.14), 0.0, 1.0);
}

// The displayed (tone-mapped, sRGB) colour of a surface point, in view space: base colour
// (sRGB), material (metallic, roughness), unit normal N towards the viewer's side, brush axis
// and whether brushed, and the sun's visibility there (1 lit, 0 in shadow).
vec3 shade(vec3 base, vec2 mat, vec3 N, vec3 pos, vec3 brush, bool brushed, float shadow) {
    vec3 albedo = pow(base, vec3(2.2));
    // a saturated colour is data (drift, damage) or paint, not tinted metal: drawn
    // dielectric, so it reads as that colour from every side, not only in reflections
    float sat = (max(base.r, max(base.g, base.b)) - min(base.r, min(base.g, base.b)))
        / max(max(base.r, max(base.g, base.b)), 1e-3);
    float metal = clamp(mat.x, 0.0, 1.0) * (1.0 - smoothstep(0.3, 0.6, sat));
    float rough = clamp(mat.y, 0.03, 1.0);
    vec3 V = normalize(-pos);
    vec3 L = normalize(p3d_LightSource[0].position.xyz);
    vec3 H = normalize(L + V);
    float NL = max(dot(N, L), 0.0), NV = max(dot(N, V), 1e-3), NH = max(dot(N, H), 0.0);
    float VH = max(dot(V, H), 0.0);

    vec3 F0 = mix(vec3(0.04), albedo, metal);
    vec3 F = F0 + (1.0 - F0) * pow(1.0 - VH, 5.0);
    float a = rough * rough;
    float D;
    vec3 grain = brush - N * dot(N, brush);  // the brush axis in the surface's plane
    if (brushed && dot(grain, grain) > 0.01) {  // brushed: smoother along the grain
        vec3 T = normalize(grain);
        vec3 B = cross(N, T);
        float at = max(a * 0.45, 0.01), ab = min(a * 1.9, 1.0);
        float th = dot(T, H) / at, bh = dot(B, H) / ab;
        float d = th * th + bh * bh + NH * NH;
        D = 1.0 / (PI * at * ab * d * d);
    } else {
        float d = NH * NH * (a * a - 1.0) + 1.0;
        D = a * a / (PI * d * d);
    }
    float k = (rough + 1.0) * (rough + 1.0) / 8.0;
    float G = NL / (NL * (1.0 - k) + k) * NV / (NV * (1.0 - k) + k);
    vec3 spec = D * G * F / max(4.0 * NL * NV, 1e-3);
    vec3 kd = (1.0 - F) * (1.0 - metal);
    vec3 sun = p3d_LightSource[0].color * 3.2;
    vec3 colour = (kd * albedo / PI + spec) * sun * NL * shadow;

    vec3 up = normalize(mat3(p3d_ViewMatrix) * vec3(0, 1, 0));
    vec3 east = normalize(mat3(p3d_ViewMatrix) * vec3(1, 0, 0));
    vec3 R = reflect(-V, N);
    vec3 Fr = F0 + (max(vec3(1.0 - rough), F0) - F0) * pow(1.0 - NV, 5.0);
    float sky = 0.5 + 0.5 * dot(N, up);
    vec3 hemi = mix(vec3(0.08, 0.08, 0.085), vec3(0.42, 0.43, 0.46), sky);
    // a surface in the sun's shadow also sees less of the bright environment above it
    float occl = mix(0.55, 1.0, shadow);
    colour += (kd * albedo * hemi + Fr * environment(R, up, east, rough)) * occl;

    colour = aces(colour * exposure);
    return pow(colour, vec3(1.0 / 2.2));
}
"""

# The sun's visibility from its shadow map, and the floor's fade into the background.
_RECEIVER = """
uniform vec2 shadow_texel;     // 1 / shadow map size
uniform float use_shadows;
uniform vec3 fade_colour;      // the window's background (as displayed, sRGB)
uniform vec2 fade_range;       // fade by horizontal distance from the model's origin (m)
in vec4 shadow_coord;
in vec3 vmodel;

const int PCF_TAPS = 4;  // the first taps of the disc below (module doc: why 4)
float shadow_factor() {
    vec3 c = shadow_coord.xyz / shadow_coord.w;
    if (use_shadows < 0.5 || c.x <= 0.0 || c.x >= 1.0 || c.y <= 0.0 || c.y >= 1.0
        || c.z >= 1.0)  // outside the map (fitted to the rig): in the open, lit
        return 1.0;
    // a disc of about 2.5 texels, rotated per pixel: soft edges without a texel staircase
    // (ordered so that any first few taps surround the centre: one per quadrant first)
    const vec2 taps[12] = vec2[](vec2(-0.326, -0.406), vec2(0.962, -0.195),
        vec2(0.519, 0.767), vec2(-0.696, 0.457), vec2(-0.840, -0.074), vec2(0.473, -0.480),
        vec2(-0.203, 0.621), vec2(0.185, -0.893), vec2(0.507, 0.064), vec2(0.896, 0.412),
        vec2(-0.322, -0.933), vec2(-0.792, -0.598));
    // the disc turned by 0, 22.5, 45 and 67.5 degrees on the four pixels of each 2x2 block:
    // 16 directions over the block (a per-pixel hash, sin and cos cost more than the taps)
    const mat2 turns[4] = mat2[](mat2(1.0, 0.0, 0.0, 1.0), mat2(0.924, 0.383, -0.383, 0.924),
        mat2(0.707, 0.707, -0.707, 0.707), mat2(0.383, 0.924, -0.924, 0.383));
    ivec2 px = ivec2(gl_FragCoord.xy) & 1;
    mat2 rot = turns[px.x + 2 * px.y];
    float lit = 0.0;
    for (int i = 0; i < PCF_TAPS; ++i)
        lit += texture(p3d_LightSource[0].shadowMap,
                       vec3(c.xy + rot * taps[i] * shadow_texel * 2.5, c.z - 0.0004));
    return lit / float(PCF_TAPS);
}

out vec4 p3d_FragColor;
float fade;  // how far the pixel has faded into the background, 0..1

// the floor beyond the fade is the background: nothing to light (most of the floor's pixels
// in a wide view); true when the pixel is written
bool beyond_fade() {
    fade = smoothstep(fade_range.x, fade_range.y, length(vmodel.xz));
    if (fade < 0.999)
        return false;
    p3d_FragColor = vec4(fade_colour, 1.0);
    return true;
}

void write_faded(vec3 colour, float alpha) {
    p3d_FragColor = vec4(mix(colour, fade_colour, fade), alpha);
}
"""

_VERTEX = """
#version 150
uniform mat4 p3d_ModelViewProjectionMatrix;
uniform mat4 p3d_ModelViewMatrix;
uniform mat3 p3d_NormalMatrix;
uniform vec4 p3d_ColorScale;
""" + _LIGHT + """
uniform float normal_offset;  // shadow normal-offset bias, view units (m)

in vec4 vertex;
in vec3 normal;
in vec4 p3d_Color;
in vec2 p3d_MultiTexCoord0;

out vec3 vpos;
out vec3 vnorm;
out vec3 vbrush;
out vec4 vcolor;
out vec2 vmat;
out float vaxis;
out vec4 shadow_coord;
out vec3 vmodel;
#ifdef LIT_PER_VERTEX
out vec3 lit_colour;     // displayed colour in the sun
out vec3 shaded_colour;  // and in the rig's shadow
""" + _SHADING + """
#endif

void main() {
    vmodel = vertex.xyz;
    gl_Position = p3d_ModelViewProjectionMatrix * vertex;
    vpos = vec3(p3d_ModelViewMatrix * vertex);
    vnorm = normalize(p3d_NormalMatrix * normal);
    float axis = floor(p3d_MultiTexCoord0.x);
    // Ursina 7 draws in panda's node space with y up: x sway, y up, z across
    vec3 a = axis < 1.5 ? vec3(1, 0, 0) : (axis < 2.5 ? vec3(0, 1, 0) : vec3(0, 0, 1));
    vbrush = mat3(p3d_ModelViewMatrix) * a;
    vaxis = axis;
    vmat = vec2(2.0 * fract(p3d_MultiTexCoord0.x), p3d_MultiTexCoord0.y);
    vcolor = p3d_Color;
    vec3 L = normalize(p3d_LightSource[0].position.xyz);
    float slope = 1.0 - clamp(dot(vnorm, L), 0.0, 1.0);
    shadow_coord = p3d_LightSource[0].shadowViewMatrix
        * vec4(vpos + vnorm * normal_offset * (0.5 + slope), 1.0);
#ifdef LIT_PER_VERTEX
    vec3 base = (p3d_Color * p3d_ColorScale).rgb;
    lit_colour = shade(base, vmat, vnorm, vpos, vbrush, axis > 0.5, 1.0);
    shaded_colour = shade(base, vmat, vnorm, vpos, vbrush, axis > 0.5, 0.0);
#endif
}
"""

_FRAGMENT = """
#version 150
""" + _LIGHT + _SHADING + _RECEIVER + """
uniform vec4 p3d_ColorScale;
in vec3 vpos;
in vec3 vnorm;
in vec3 vbrush;
in vec4 vcolor;
in vec2 vmat;
in float vaxis;

void main() {
    if (beyond_fade())
        return;
    vec4 base = vcolor * p3d_ColorScale;
    vec3 N = normalize(vnorm);
    if (!gl_FrontFacing) N = -N;
    float lit_side = dot(N, p3d_LightSource[0].position.xyz);
    float shadow = lit_side > 0.0 ? shadow_factor() : 0.0;
    vec3 colour = shade(base.rgb, vmat, N, vpos, vbrush, vaxis > 0.5, shadow);
    write_faded(colour, base.a);
}
"""

# The floor: flat, rough and lit by a directional sun, so its lighting changes slowly across it
# (with the view direction only) and is lit per vertex of a fine grid (view/rig_view.LabFloor);
# per pixel it needs only the rig's shadow and the fade. On llvmpipe, shading its ~1 M pixels
# per pixel was a quarter of the shaded kiosk frame.
_FLOOR_FRAGMENT = """
#version 150
""" + _LIGHT + _RECEIVER + """
uniform vec4 p3d_ColorScale;
in vec4 vcolor;
in vec3 lit_colour;
in vec3 shaded_colour;

void main() {
    if (beyond_fade())
        return;
    write_faded(mix(shaded_colour, lit_colour, shadow_factor()), vcolor.a * p3d_ColorScale.a);
}
"""

_INPUTS = {"normal_offset": 0.0015, "shadow_texel": Vec2(1 / SHADOW_MAP_PX, 1 / SHADOW_MAP_PX),
           "exposure": 1.25, "fade_colour": Vec3(*BACKGROUND[:3]), "fade_range": Vec2(1e3, 2e3),
           "use_shadows": 1.0}
pbr_shader = Shader(language=Shader.GLSL, name="twin3d_pbr", vertex=_VERTEX, fragment=_FRAGMENT,
                    default_input=_INPUTS)
floor_shader = Shader(language=Shader.GLSL, name="twin3d_floor",
                      vertex=_VERTEX.replace("#version 150\n",
                                             "#version 150\n#define LIT_PER_VERTEX\n", 1),
                      fragment=_FLOOR_FRAGMENT, default_input=_INPUTS)


_DEPTH_VERTEX = """
#version 150
uniform mat4 p3d_ModelViewProjectionMatrix;
in vec4 vertex;
void main() { gl_Position = p3d_ModelViewProjectionMatrix * vertex; }
"""
_DEPTH_FRAGMENT = """
#version 150
out vec4 p3d_FragColor;
void main() { p3d_FragColor = vec4(1.0); }
"""


def _depth_only_state():
    """The shadow camera's render state: depth only, through a trivial shader that overrides
    every entity's own (otherwise the full shading runs for each of the map's 4 M texels)."""
    from panda3d.core import (ColorWriteAttrib, LightAttrib, RenderState, Shader as PShader,
                              ShaderAttrib, TextureAttrib)

    depth = PShader.make(PShader.SL_GLSL, _DEPTH_VERTEX, _DEPTH_FRAGMENT)
    return RenderState.make(ShaderAttrib.make(depth, 1000), LightAttrib.make_all_off(),
                            TextureAttrib.make_all_off(),
                            ColorWriteAttrib.make(ColorWriteAttrib.C_off))


class Sun:
    """A directional light that casts the rig's shadows, its orthographic shadow camera fitted
    to the given entities (padded for the magnified sway), not to the whole scene.

    Built on panda3d's DirectionalLight directly: Ursina's refits its shadow camera to the
    whole scene one frame after creation (4 m of floor: blocky, acne-ridden shadows)."""

    def __init__(self, direction: Vec3, casters, colour=(1.0, 0.97, 0.92),
                 map_px: int = SHADOW_MAP_PX):
        """direction: where the light travels (scene axes); casters: the node whose subtree
        casts shadows (the shadow camera draws only the rig, not the floor, labels or
        signs)."""
        from panda3d.core import DirectionalLight
        from ursina import scene

        self.light = DirectionalLight("twin3d_sun")
        self.light.set_color(Vec4(*colour, 1.0))
        self.light.set_shadow_caster(True, map_px, map_px)
        self.light.set_initial_state(_depth_only_state())
        self.light.set_scene(casters)
        self.node = scene.attach_new_node(self.light)
        self.node.look_at(direction)  # Ursina 7's axes are panda's node axes (y up)
        scene.set_light(self.node)
        self.frames = 0
        self.every = 1  # frames per shadow pass, set with the buffer (software GL: fewer)
        self._buffer = None
        from ursina import application

        # before the frame is drawn (panda's render loop runs at sort 50)
        self._task = application.base.taskMgr.add(self._pace, "twin3d_shadow_pace", sort=40)

    def _pace(self, task):
        """Turn the shadow buffer on for one frame in `every` (made on the first frame drawn,
        so looked up until it is there)."""
        if self._buffer is None:
            from ursina import application

            from twin3d.view import engine

            win = application.base.win
            self._buffer = self.light.get_shadow_buffer(win.get_gsg()) if win else None
            self.every = SHADOW_EVERY_SOFTWARE if engine.software_gl() else 1
            self.frames = 0  # the map is drawn on the frame its buffer is found, then every'th
        if self._buffer is not None:
            self._buffer.set_active(self.frames % self.every == 0)
        self.frames += 1
        return task.cont

    def fit(self, entities, pad: float = 0.25) -> float:
        """Fit the shadow camera around `entities` (bounds grown by `pad` of their size);
        returns the map's texel size in metres (for the normal-offset bias)."""
        from panda3d.core import Point3

        lo, hi = None, None
        for e in entities:
            b = e.get_tight_bounds(self.node)
            if b is None:
                continue
            lo = b[0] if lo is None else Point3(*(min(p, q) for p, q in zip(lo, b[0])))
            hi = b[1] if hi is None else Point3(*(max(p, q) for p, q in zip(hi, b[1])))
        if lo is None:
            return 0.0
        size = hi - lo
        lo, hi = lo - size * pad, hi + size * pad
        lens = self.light.get_lens()
        lens.set_film_size(hi.x - lo.x, hi.z - lo.z)
        lens.set_film_offset((hi.x + lo.x) / 2, (hi.z + lo.z) / 2)
        lens.set_near_far(lo.y - 1.0, hi.y + 1.0)
        return max(hi.x - lo.x, hi.z - lo.z) / self.light.get_shadow_buffer_size()[0]
