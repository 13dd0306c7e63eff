/**
 * Licence plates: reading a plate crop (one or two rows, Vietnamese grammar, colour) and finding
 * plates on a vehicle crop or a full image, with PP-OCRv4 text detection and recognition from the
 * model registry (ppocr-det/4, ppocr-rec/4), optionally the project's whole-plate recogniser
 * (vn-plate-ocr/1) first, off the event loop.
 */
export { createPlateReader } from './plate-reader.js';
export type {
  FindPlatesOptions,
  FoundPlate,
  LocatedPlate,
  PixelBox,
  PlateBox,
  PlateChar,
  PlateColour,
  PlateReader,
  PlateReaderOptions,
  PlateReading,
  ReadPlateOptions,
  RgbImage,
} from './plate-reader.js';
export {
  PROVINCE_CODES,
  RETIRED_PROVINCE_CODES,
  chooseReading,
  comparablePlate,
  compactPlate,
  formatVnPlate,
  interpretReading,
  parseVnPlate,
  provinceStatus,
} from './plate-grammar.js';
export type {
  CharReading,
  GrammarResult,
  PlateCandidate,
  PlateRegion,
  VnPlate,
  VnPlateKind,
} from './plate-grammar.js';
