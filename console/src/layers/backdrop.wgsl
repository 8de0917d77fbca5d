// The map viewport's pixels in one opaque draw: the unit markers over the static map image
// over the sea. Both images hold premultiplied alpha; the map image covers `map_uv` of the
// viewport (outside it, sea).
#import bevy_sprite::mesh2d_vertex_output::VertexOutput

struct Params {
    // The map image's uv at the viewport's top-left (xy) and bottom-right (zw) corners.
    map_uv: vec4<f32>,
    // The colour where the map image is transparent or absent (linear).
    sea: vec4<f32>,
}

@group(#{MATERIAL_BIND_GROUP}) @binding(0) var<uniform> params: Params;
@group(#{MATERIAL_BIND_GROUP}) @binding(1) var map_texture: texture_2d<f32>;
@group(#{MATERIAL_BIND_GROUP}) @binding(2) var map_sampler: sampler;
@group(#{MATERIAL_BIND_GROUP}) @binding(3) var marker_texture: texture_2d<f32>;
@group(#{MATERIAL_BIND_GROUP}) @binding(4) var marker_sampler: sampler;

@fragment
fn fragment(in: VertexOutput) -> @location(0) vec4<f32> {
    let uv = mix(params.map_uv.xy, params.map_uv.zw, in.uv);
    let inside = all(uv >= vec2<f32>(0.0)) && all(uv <= vec2<f32>(1.0));
    let map = select(vec4<f32>(0.0), textureSample(map_texture, map_sampler, uv), inside);
    let base = map.rgb + params.sea.rgb * (1.0 - map.a);
    let marker = textureSample(marker_texture, marker_sampler, in.uv);
    return vec4<f32>(marker.rgb + base * (1.0 - marker.a), 1.0);
}
