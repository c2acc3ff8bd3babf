// The demo shop's catalogue, generated from word lists: the same 300 products (name, producer,
// price, stock) on every machine and every run, so `npm run seed` can tell what is already there.
// Health supplements as the original BooTakHae sold them: every purpose (ProductFunction) in
// every form (ProductType), prices in whole won.

/** Six ingredients per purpose; the product name is "<ingredient> <form>". */
const INGREDIENTS = {
  ACTIVE_BOWEL: ['Psyllium Husk', 'Prune Fiber', 'Aloe Vera', 'Inulin Fiber', 'Kiwi Enzyme', 'Senna Leaf'],
  INTESTINE_HEALTH: [
    'Probiotics 10B',
    'Lactobacillus Plus',
    'Bifidus Complex',
    'Postbiotic Balance',
    'Synbiotic Duo',
    'Kimchi Lactic Acid',
  ],
  LIVER_HEALTH: ['Milk Thistle', 'Silymarin Max', 'Artichoke Leaf', 'Turmeric Curcumin', 'UDCA Care', 'Hovenia Dulcis'],
  EYE_HEALTH: ['Lutein Zeaxanthin', 'Bilberry', 'Astaxanthin', 'Marigold Lutein', 'rTG Omega-3 Eye', 'Cassia Seed'],
  BLOOD_CIRCULATION: ['Omega-3 Fish Oil', 'Korean Red Ginseng', 'Nattokinase', 'Ginkgo Biloba', 'Antarctic Krill Oil', 'Black Garlic'],
  JOINT_HEALTH: ['Glucosamine', 'MSM Joint', 'Boswellia', 'Collagen Type II', 'Chondroitin', 'Green Lipped Mussel'],
  IMPROVE_MEMORY: ['Phosphatidylserine', 'Ginkgo Memory', 'Bacopa', "Lion's Mane", 'DHA Brain', 'Citicoline'],
  IMPROVE_FATIGUE: ['Vitamin B Complex', '6-Year Red Ginseng', 'Taurine Energy', 'L-Arginine', 'Maca Root', 'Coenzyme Q10'],
  SKIN_HEALTH: ['Low Molecular Collagen', 'Hyaluronic Acid', 'Ceramide', 'Biotin', 'Evening Primrose', 'Vitamin C 1000'],
  BONE_HEALTH: ['Calcium Magnesium', 'Vitamin D3 2000IU', 'Vitamin K2', 'Calcium Citrate', 'Eggshell Calcium', 'Zinc + Vitamin D'],
};

/** What the purpose says on the label (the original's Korean descriptions). */
const PURPOSE = {
  ACTIVE_BOWEL: 'regular bowel movement (원활한 배변)',
  INTESTINE_HEALTH: 'gut health (장 건강)',
  LIVER_HEALTH: 'liver health (간 건강)',
  EYE_HEALTH: 'eye health (눈 건강)',
  BLOOD_CIRCULATION: 'blood circulation (혈행 개선)',
  JOINT_HEALTH: 'joint health (관절 건강)',
  IMPROVE_MEMORY: 'memory (기억력 개선)',
  IMPROVE_FATIGUE: 'less fatigue (피로 개선)',
  SKIN_HEALTH: 'skin health (피부 건강)',
  BONE_HEALTH: 'bone health (뼈 건강)',
};

/** Form word, pack size, base price (won) and serving of each product type. */
const FORMS = {
  CAPSULE: { word: 'Capsules', pack: '60 caps', base: 19_900, serving: '2 capsules' },
  POWDER: { word: 'Powder', pack: '30 sticks', base: 24_900, serving: '1 stick (3 g)' },
  DRINK: { word: 'Shot', pack: '14 x 20 ml', base: 32_900, serving: '1 bottle (20 ml)' },
  SPRAY: { word: 'Spray', pack: '30 ml', base: 15_900, serving: '4 sprays' },
  PILL: { word: 'Tablets', pack: '90 tabs', base: 17_900, serving: '3 tablets' },
};

/** Korean health-food makers (romanised as on their export labels). */
const PRODUCERS = [
  'Chong Kun Dang Health',
  'Korea Eundan',
  'CheongKwanJang',
  'Nutrione',
  'GNM Natural',
  'Daewoong Pharm',
  'Yuhan Corp',
  'Ildong Foodis',
  'Hanmi Healthcare',
  'Kwangdong Pharm',
];

/** A small deterministic hash (FNV-1a): the same word always gives the same number. */
function hash(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Every demo product, in a fixed order. */
export function demoCatalogue() {
  const products = [];
  for (const [fn, ingredients] of Object.entries(INGREDIENTS)) {
    for (const [type, form] of Object.entries(FORMS)) {
      ingredients.forEach((ingredient, i) => {
        const h = hash(`${ingredient}|${type}`);
        // 0.8× to 2.3× the form's base price, ending in 900 won as Korean shops price.
        const price = Math.round((form.base * (0.8 + (h % 16) / 10)) / 1000) * 1000 - 100;
        products.push({
          name: `${ingredient} ${form.word} ${form.pack}`,
          producer: PRODUCERS[(h >>> 4) % PRODUCERS.length],
          price,
          function: fn,
          type,
          nutritionFacts: `Per ${form.serving}: ${ingredient} ${100 + ((h >>> 8) % 20) * 50} mg. For ${PURPOSE[fn]}. ${1 + (i % 2)} serving${i % 2 ? 's' : ''} a day.`,
          stock: 50 + ((h >>> 12) % 10) * 50,
        });
      });
    }
  }
  return products;
}

/** The product the demo sale is on, and the products in the demo member's wishlist. */
export const DEMO_SALE_PRODUCT = '6-Year Red Ginseng Shot 14 x 20 ml';
export const DEMO_WISHLIST = [
  { name: 'Omega-3 Fish Oil Capsules 60 caps', quantity: 2 },
  { name: 'Lutein Zeaxanthin Capsules 60 caps', quantity: 1 },
  { name: 'Probiotics 10B Powder 30 sticks', quantity: 1 },
];
