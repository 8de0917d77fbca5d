// Unit markers drawn as instances: the mesh is only quad corners (its positions unused);
// each quad reads its marker from a storage buffer (centre in viewport pixels, rounded as
// stamping rounds, and the sprite's index), is cut at the viewport's edges as stamping
// clips, and samples its cell of the sprite atlas (premultiplied, blended as such).
#import bevy_sprite::mesh2d_view_bindings::view

struct Params {
    // The viewport's top-left in the target's pixels (xy) and its size in pixels (zw).
    viewport: vec4<f32>,
    // A sprite cell's side in atlas pixels (x), the atlas's columns (y), its size (zw).
    atlas: vec4<f32>,
    // How many markers the buffer holds this frame; the quads past them are not drawn.
    count: u32,
}

@group(#{MATERIAL_BIND_GROUP}) @binding(0) var<uniform> params: Params;
@group(#{MATERIAL_BIND_GROUP}) @binding(1) var<storage, read> markers: array<vec4<f32>>;
@group(#{MATERIAL_BIND_GROUP}) @binding(2) var atlas_texture: texture_2d<f32>;
@group(#{MATERIAL_BIND_GROUP}) @binding(3) var atlas_sampler: sampler;

struct Vertex {
    @builtin(vertex_index) index: u32,
    @location(0) position: vec3<f32>,
};

struct Out {
    @builtin(position) clip: vec4<f32>,
    @location(0) uv: vec2<f32>,
};

@vertex
fn vertex(v: Vertex) -> Out {
    var out: Out;
    let quad = v.index / 4u;
    // Corners: top-left, bottom-left, bottom-right, top-right.
    let corner = v.index % 4u;
    if quad >= params.count {
        // Every corner at one point: a quad of no area, drawn as nothing.
        out.clip = vec4<f32>(-2.0, -2.0, 0.0, 1.0);
        out.uv = vec2<f32>(0.0, 0.0);
        return out;
    }
    let m = markers[quad];
    let n = params.atlas.x;
    let x0 = m.x - floor(n / 2.0);
    let y0 = m.y - floor(n / 2.0);
    let right = corner == 2u || corner == 3u;
    let bottom = corner == 1u || corner == 2u;
    let x = clamp(select(x0, x0 + n, right), 0.0, params.viewport.z);
    let y = clamp(select(y0, y0 + n, bottom), 0.0, params.viewport.w);
    let sprite = u32(m.z);
    let columns = u32(params.atlas.y);
    let cell = vec2<f32>(f32(sprite % columns), f32(sprite / columns)) * n;
    out.uv = (cell + vec2<f32>(x - x0, y - y0)) / params.atlas.zw;
    let at = params.viewport.xy + vec2<f32>(x, y);
    let size = view.viewport.zw;
    out.clip = vec4<f32>(at.x / size.x * 2.0 - 1.0, 1.0 - at.y / size.y * 2.0, 1.0, 1.0);
    return out;
}

@fragment
fn fragment(in: Out) -> @location(0) vec4<f32> {
    return textureSample(atlas_texture, atlas_sampler, in.uv);
}
