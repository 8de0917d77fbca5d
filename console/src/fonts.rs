//! The CJK font: WenQuanYi Micro Hei (Apache-2.0, see `assets/fonts/`) is built into the
//! binary and added to egui's families after its own fonts, so Latin text keeps egui's
//! look and every Chinese name is drawn instead of boxes.

use std::sync::Arc;

use bevy::prelude::*;
use bevy_egui::EguiContexts;
use bevy_egui::egui::{FontData, FontDefinitions, FontFamily};

/// The font file.
pub const CJK_FONT: &[u8] = include_bytes!("../../assets/fonts/wqy-microhei.ttf");

/// egui's fonts with the CJK font as fallback in every family.
pub fn definitions() -> FontDefinitions {
    let mut fonts = FontDefinitions::default();
    fonts.font_data.insert("wqy-microhei".into(), Arc::new(FontData::from_static(CJK_FONT)));
    for family in [FontFamily::Proportional, FontFamily::Monospace] {
        fonts.families.entry(family).or_default().push("wqy-microhei".into());
    }
    fonts
}

/// Installs the fonts once, on the first pass that has a context.
/// (The wall's zoom is set each frame by the panels, from its monitor's height.)
pub fn install(mut contexts: EguiContexts, mut done: Local<bool>) -> Result {
    if *done {
        return Ok(());
    }
    let ctx = contexts.ctx_mut()?;
    ctx.set_fonts(definitions());
    ctx.set_visuals(crate::style::visuals());
    *done = true;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draws_chinese(fonts: Option<FontDefinitions>) -> bool {
        let ctx = bevy_egui::egui::Context::default();
        if let Some(f) = fonts {
            ctx.set_fonts(f);
        }
        let mut out = ctx.run_ui(Default::default(), |_| {});
        out.textures_delta.clear();
        ctx.fonts_mut(|f| {
            let font = bevy_egui::egui::FontId::proportional(14.0);
            "思明区鼓浪屿街道".chars().all(|c| f.has_glyph(&font, c))
        })
    }

    #[test]
    fn chinese_names_have_glyphs_with_the_shipped_font_only() {
        assert!(!draws_chinese(None), "egui's own fonts draw boxes");
        assert!(draws_chinese(Some(definitions())));
    }
}
