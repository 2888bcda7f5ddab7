// Page rendering from saved real-world-like pages: text, link maps, windows and find results, checked by eye
// against the reference behaviour (SPEC §5.2) and pinned as inline snapshots.
import { getTokenizer } from '@gptoss/harmony';
import { describe, expect, test } from 'vitest';
import { BrowserTool } from '../../src/browser/browser-tool.js';
import { processHtml } from '../../src/browser/process-html.js';
import { joinLines, wrapLines } from '../../src/browser/text-wrap.js';
import { call, FixtureBackend, fixtureHtml, PAGES } from './helpers.js';

const render = (key: keyof typeof PAGES) => processHtml(fixtureHtml(PAGES[key].file), PAGES[key].url);

describe('news article', () => {
  const page = render('news');
  test('page text', () => {
    expect(page.title).toMatchInlineSnapshot(`"City council approves riverside solar project | The Harbor Gazette"`);
    expect(page.text).toMatchInlineSnapshot(`
      "
      URL: https://www.harborgazette.example/local/2024/03/solar-project
      [Image 0: The Harbor Gazette]

        * 【0†Local】
        * 【1†Business】
        * 【2†Climate】
        * Search

      # City council approves riverside solar project after three-hour debate

      By 【3†Maria Okafor】 · Published March 14, 2024 · Updated 6:42 p.m.

      [Image 1: Aerial view of the former rail yard where the panels will go]The former rail yard on Pier Road, seen from the north. (Photo: J. Lindqvist)

      The Harbor City council voted 7–2 on Tuesday night to approve a 48-megawatt solar installation on the former rail yard along the Eastwater River, ending a year of hearings over the site's future.

      The project, proposed by 【4†Brightfield Energy†www.brightfield-energy.example】, will cover roughly 90 hectares and is expected to supply about 11% of the city's residential demand once it comes online in late 2026.^{1}

      ## What the council decided

      Under the agreement, Brightfield will lease the land for 30 years and pay the city an annual fee of $1.2 million, adjusted for inflation. The company also committed to:

        * restoring a 2.5-kilometre stretch of riverbank as public green space;
        * hiring at least 40% of construction workers from the county;
        * funding a battery study with the 【5†Harbor University Energy Lab†www.harbor-university.example】.

      > “This is the most significant clean-energy decision this city has made in a generation,” said Councillor Dana Whitfield, who chairs the infrastructure committee.

      Opponents argued that the site should instead be used for housing. “We have a waiting list of 3,000 families,” said Councillor Peter Grummond, one of the two votes against. He pointed to a 【6†November housing report】 that identified the rail yard as one of five large parcels suitable for mid-rise construction.

      ## Next steps

      The project still needs a permit from the state environmental agency, which is expected to rule in the summer. Construction could begin as early as January. Residents can read the full staff report on the 【7†council's agenda page†harborcity.example.gov】 or join the discussion below.

      Correction: An earlier version of this story misstated the length of the lease. It is 30 years, not 25.

      ### Related coverage

        1. 【8†Utility plans $400M grid upgrade】
        2. 【6†Report: five sites could host 4,000 homes】
        3. 【9†Study: floating solar on urban rivers†arxiv.org】

      ^{1} Based on 2023 consumption figures published by the regional utility.

      © 2024 The Harbor Gazette · Send us a tip · 【10†Privacy】"
    `);
  });
  test('link map: ids by first appearance, one id per URL, arxiv → ar5iv, mailto/javascript/#anchors skipped', () => {
    expect(page.urls).toMatchInlineSnapshot(`
      {
        "0": "https://www.harborgazette.example/local/",
        "1": "https://www.harborgazette.example/business/",
        "10": "https://www.harborgazette.example/about/privacy",
        "2": "https://www.harborgazette.example/climate/",
        "3": "https://www.harborgazette.example/authors/maria-okafor",
        "4": "https://www.brightfield-energy.example/projects/harbor",
        "5": "https://www.harbor-university.example/energy-lab",
        "6": "https://www.harborgazette.example/local/2023/11/housing-report",
        "7": "https://harborcity.example.gov/council/agenda/2024-03-12",
        "8": "https://www.harborgazette.example/climate/2024/02/grid-upgrade",
        "9": "https://ar5iv.org/abs/2301.01234",
      }
    `);
  });
  test('find', async () => {
    const tool = new BrowserTool({ backend: new FixtureBackend() });
    await call(tool, 'open', { id: PAGES.news.url });
    expect(await call(tool, 'find', { pattern: 'Council' })).toMatchInlineSnapshot(`
      "[1] Find results for text: \`council\` in \`City council approves riverside solar project | The Harbor Gazette\` (https://www.harborgazette.example/local/2024/03/solar-project/find?pattern=council)
      **viewing lines [0 - 34] of 34**

      L0: # 【0†match at L9】
      L1: # City council approves riverside solar project after three-hour debate
      L2: 
      L3: By Maria Okafor · Published March 14, 2024 · Updated 6:42 p.m.
      L4: 
      L5: 
      L6: # 【1†match at L16】
      L7: The Harbor City council voted 7–2 on Tuesday night to approve a 48-megawatt 
      L8: solar installation on the former rail yard along the Eastwater River, ending a 
      L9: year of hearings over the site's future.
      L10: 
      L11: 
      L12: # 【2†match at L24】
      L13: ## What the council decided
      L14: 
      L15: Under the agreement, Brightfield will lease the land for 30 years and pay the 
      L16: city an annual fee of $1.2 million, adjusted for inflation. The company also 
      L17: 
      L18: # 【3†match at L35】
      L19: generation,” said Councillor Dana Whitfield, who chairs the infrastructure 
      L20: committee.
      L21: 
      L22: Opponents argued that the site should instead be used for housing. “We have a 
      L23: 
      L24: # 【4†match at L39】
      L25: waiting list of 3,000 families,” said Councillor Peter Grummond, one of the two 
      L26: votes against. He pointed to a November housing report that identified the 
      L27: rail yard as one of five large parcels suitable for mid-rise construction.
      L28: 
      L29: 
      L30: # 【5†match at L47】
      L31: Residents can read the full staff report on the council's agenda 
      L32: page or join the discussion below.
      L33: 
      L34: Correction: An earlier version of this story misstated the length of the lease. "
    `);
    // Following a find result re-opens the page 4 lines above the match.
    expect((await call(tool, 'open', { id: 2 })).split('\n').slice(0, 5).join('\n')).toMatchInlineSnapshot(`
      "[2] City council approves riverside solar project | The Harbor Gazette (https://www.harborgazette.example/local/2024/03/solar-project)
      **viewing lines [20 - 62] of 62**

      L20: The project, proposed by 【4†Brightfield Energy†www.brightfield-energy.example】, 
      L21: will cover roughly 90 hectares and is expected to supply about 11% of the city's"
    `);
  });
});

describe('docs page with code blocks', () => {
  const page = render('docs');
  test('page text', () => {
    expect(page.text).toMatchInlineSnapshot(`
      "
      URL: https://nodekit.dev/docs/streams.html
      【0†nodekit】 

        * 【1†Buffers】
        * 【2†Streams】
        * 【3†Workers】

      # Reading files line by line¶

      Large log files rarely fit in memory. The \`readLines()\` helper wraps a 【4†readable stream†nodejs.org】 and yields one line at a time, so memory use stays flat no matter how big the file is.

      Note: \`readLines()\` requires Node.js 20 or later. On older versions, use 【5†the legacy line reader】.

      ## Quick start

      Install the package:

          npm install nodekit

      Then iterate over the lines of a file:

          import { readLines } from 'nodekit/streams';

          let errors = 0;
          for await (const line of readLines('/var/log/app.log')) {
            if (line.includes('ERROR')) errors++;
          }
          console.log(\`\${errors} errors\`);

      ## Options

      \`readLines(path, options?)\` accepts the following options:

      \`encoding\`
          Text encoding of the file. Defaults to \`'utf8'\`.
      \`highWaterMark\`
          Bytes read per chunk. Defaults to 64 KiB.
      \`signal\`
          An \`AbortSignal\` that stops reading and closes the file.

      ## Handling Windows line endings

      Lines ending in \`\\r\\n\` are returned without the \`\\r\`. If you need the raw bytes, read the stream yourself:

          import { createReadStream } from 'node:fs';

          const stream = createReadStream('data.csv', { highWaterMark: 1 << 16 });
          stream.on('data', (chunk) => {
            // chunk is a Buffer; split on 0x0a yourself
            process.stdout.write(\`got \${chunk.length} bytes\\n\`);
          });

      ## Errors

        1. If the file does not exist, the iterator rejects with \`ENOENT\` on the first \`next()\`.
        2. If the signal aborts, the iterator rejects with an \`AbortError\`.
        3. Any other read error is passed through unchanged.

      ## Performance

      On a 2 GB log file, \`readLines()\` processes about 1.4 million lines per second on a laptop, close to the speed of \`wc -l\`. See 【6†the benchmarks†github.com】 for details.

      * * *

      Found a problem with this page? 【7†Edit it on GitHub†github.com】."
    `);
  });
  test('link map: relative links resolved against the page URL', () => {
    expect(page.urls).toMatchInlineSnapshot(`
      {
        "0": "https://nodekit.dev/index.html",
        "1": "https://nodekit.dev/docs/buffers.html",
        "2": "https://nodekit.dev/docs/streams.html",
        "3": "https://nodekit.dev/docs/workers.html",
        "4": "https://nodejs.org/api/stream.html#readable-streams",
        "5": "https://nodekit.dev/docs/legacy.html#line-reader",
        "6": "https://github.com/nodekit/nodekit/tree/main/bench",
        "7": "https://github.com/nodekit/nodekit/edit/main/docs/streams.md",
      }
    `);
  });
  test('token-budgeted windows and scrolling', async () => {
    const tool = new BrowserTool({ backend: new FixtureBackend(), viewTokens: 200 });
    const first = await call(tool, 'open', { id: PAGES.docs.url });
    expect(first).toMatchInlineSnapshot(`
      "[0] Streams — Reading files line by line | nodekit docs (https://nodekit.dev/docs/streams.html)
      **viewing lines [0 - 19] of 72**

      L0: 
      L1: URL: https://nodekit.dev/docs/streams.html
      L2: 【0†nodekit】 
      L3: 
      L4:   * 【1†Buffers】
      L5:   * 【2†Streams】
      L6:   * 【3†Workers】
      L7: 
      L8: # Reading files line by line¶
      L9: 
      L10: Large log files rarely fit in memory. The \`readLines()\` helper wraps a 
      L11: 【4†readable stream†nodejs.org】 and yields one line at a time, so memory use 
      L12: stays flat no matter how big the file is.
      L13: 
      L14: Note: \`readLines()\` requires Node.js 20 or later. On older versions, use 【5†the 
      L15: legacy line reader】.
      L16: 
      L17: ## Quick start
      L18: 
      L19: Install the package:"
    `);
    const end = Number(/viewing lines \[0 - (\d+)\]/.exec(first)![1]);
    const next = await call(tool, 'open', { loc: end + 1, num_lines: 6 });
    expect(next).toMatchInlineSnapshot(`
      "[1] Streams — Reading files line by line | nodekit docs (https://nodekit.dev/docs/streams.html)
      **viewing lines [20 - 25] of 72**

      L20: 
      L21:     npm install nodekit
      L22: 
      L23: Then iterate over the lines of a file:
      L24: 
      L25:     import { readLines } from 'nodekit/streams';"
    `);
  });
});

describe('table-heavy page', () => {
  const page = render('table');
  test('page text: rows end in two spaces, cells joined by spaces, sup/sub marked', () => {
    expect(page.text).toMatchInlineSnapshot(`
      "
      URL: https://encyclopedia.example/wiki/List_of_largest_lakes_of_Europe
      # List of largest lakes of Europe

      This is a list of the largest lakes of Europe by surface area, excluding reservoirs. Area figures are given in square kilometres (km^{2}); volumes in cubic kilometres. For lakes that straddle a border, all countries are listed.[1]

      ## Largest lakes

      Lakes larger than 1,000 km^{2} Rank Name Country Area (km^{2})Max. depth (m)  
      1【0†Ladoga】Russia 17,700 230   
      2【1†Onega】Russia 9,700 127   
      3【2†Vänern】Sweden 5,650 106   
      4【3†Peipus】Estonia, Russia 3,555 15   
      5【4†Vättern】Sweden 1,893 128   
      6【5†Saimaa】Finland 1,377 85   
      7【6†Vygozero】Russia 1,250 18   
      8【7†Mälaren】Sweden 1,140 64   
      9【8†Päijänne】Finland 1,080 95   

      ## By country

      Country Largest lake Area  
      Hungary 【9†Balaton】 592 km^{2}  
      Switzerland / France 【10†Lake Geneva】 (Lac Léman) 580 km^{2}  
      Germany / Austria / Switzerland 【11†Lake Constance】 536 km^{2}  
      Italy 【12†Garda】 370 km^{2}  

      ## Water chemistry

      Typical values for the three largest lakes. The concentration of CO_{2} and the ratio H_{2}O_{2} were measured in summer.

      Ladoga Onega Vänern   
      pH 7.2 7.0 7.1   
      Transparency 4.5 m 4.0 m 6.0 m   
      Mean temp.−0.2 °C−0.1 °C+0.3 °C   

      ## References

        1. Kirillova, T. (2019). Lakes of Northern Europe. Nordic Hydrology Press. p. 12.
        2. "【13†Vänern facts†www.smhi.example】". Swedish Meteorological and Hydrological Institute."
    `);
  });
  test('link map: percent-encoded paths kept as written', () => {
    expect(page.urls).toMatchInlineSnapshot(`
      {
        "0": "https://encyclopedia.example/wiki/Lake_Ladoga",
        "1": "https://encyclopedia.example/wiki/Lake_Onega",
        "10": "https://encyclopedia.example/wiki/Lake_Geneva",
        "11": "https://encyclopedia.example/wiki/Lake_Constance",
        "12": "https://encyclopedia.example/wiki/Lake_Garda",
        "13": "https://www.smhi.example/lakes/vanern",
        "2": "https://encyclopedia.example/wiki/V%C3%A4nern",
        "3": "https://encyclopedia.example/wiki/Lake_Peipus",
        "4": "https://encyclopedia.example/wiki/V%C3%A4ttern",
        "5": "https://encyclopedia.example/wiki/Saimaa",
        "6": "https://encyclopedia.example/wiki/Lake_Vygozero",
        "7": "https://encyclopedia.example/wiki/M%C3%A4laren",
        "8": "https://encyclopedia.example/wiki/P%C3%A4ij%C3%A4nne",
        "9": "https://encyclopedia.example/wiki/Lake_Balaton",
      }
    `);
  });
  test('find over table rows', async () => {
    const tool = new BrowserTool({ backend: new FixtureBackend() });
    await call(tool, 'open', { id: PAGES.table.url });
    expect(await call(tool, 'find', { pattern: 'sweden' })).toMatchInlineSnapshot(`
      "[1] Find results for text: \`sweden\` in \`List of largest lakes of Europe - Encyclopedia\` (https://encyclopedia.example/wiki/List_of_largest_lakes_of_Europe/find?pattern=sweden)
      **viewing lines [0 - 10] of 10**

      L0: # 【0†match at L13】
      L1: 3VänernSweden 5,650 106   
      L2: 4PeipusEstonia, Russia 3,555 15   
      L3: 5VätternSweden 1,893 128   
      L4: 6SaimaaFinland 1,377 85   
      L5: 
      L6: # 【1†match at L18】
      L7: 8MälarenSweden 1,140 64   
      L8: 9PäijänneFinland 1,080 95   
      L9: 
      L10: ## By country"
    `);
  });
});

describe('non-Latin page (Japanese and Russian)', () => {
  const page = render('japanese');
  test('page text: 【】 in the page become 〖〗 so they cannot forge markers', () => {
    expect(page.title).toMatchInlineSnapshot(`"京都の紅葉名所ガイド〖2024年版〗｜旅の手帖"`);
    expect(page.text).toMatchInlineSnapshot(`
      "
      URL: https://tabi-techo.example.jp/kansai/kyoto/koyo/
      【0†ホーム】 > 【1†関西】 > 【2†京都】

      # 京都の紅葉名所ガイド〖2024年版〗

      更新日：2024年10月28日 文：山田花子

      京都の紅葉は例年11月中旬から12月上旬にかけて見頃を迎えます。標高の高い北部の寺院から色づき始め、市内中心部では11月下旬が最も美しい時期です。今年は夏の猛暑の影響で、見頃が例年より一週間ほど遅れると予想されています。

      ## おすすめの名所

        1. 【3†東福寺】：通天橋から眺める約2,000本のカエデは圧巻です。拝観料は600円。
        2. 【4†永観堂】：「もみじの永観堂」と呼ばれ、夜間のライトアップも人気です。
        3. 【5†清水寺†www.kiyomizudera.example.jp】：舞台から見下ろす錦雲渓の紅葉は京都を代表する景色です。
        4. 【6†嵐山】：渡月橋と山の紅葉を一緒に楽しめます。トロッコ列車もおすすめ。

      ## 混雑を避けるコツ

      人気の寺院は週末の午前10時から午後2時までが最も混雑します。開門直後の早朝に訪れるか、平日を選ぶと比較的ゆっくり鑑賞できます。公共交通機関は【7†京都市交通局†www.city.kyoto.example.jp】の一日乗車券が便利です。

      > 「紅葉は散り始めも美しい。足元の赤い絨毯も見逃さないでください。」――東福寺の僧侶

      ## Русским путешественникам

      Лучшее время для поездки — вторая половина ноября. Храмы открываются в 8:30, а вечерняя подсветка в Эйкан-до работает до 20:30. Подробнее читайте в 【8†нашем путеводителе на русском языке†ru.travel-notes.example】.

      関連記事：【9†京都の桜名所】｜【10†奈良の紅葉】

      © 2024 旅の手帖 【11†お問い合わせ】"
    `);
  });
  test('link map', () => {
    expect(page.urls).toMatchInlineSnapshot(`
      {
        "0": "https://tabi-techo.example.jp/",
        "1": "https://tabi-techo.example.jp/kansai/",
        "10": "https://tabi-techo.example.jp/kansai/nara/",
        "11": "https://tabi-techo.example.jp/contact/",
        "2": "https://tabi-techo.example.jp/kansai/kyoto/",
        "3": "https://tabi-techo.example.jp/kansai/kyoto/tofukuji/",
        "4": "https://tabi-techo.example.jp/kansai/kyoto/eikando/",
        "5": "https://www.kiyomizudera.example.jp/",
        "6": "https://tabi-techo.example.jp/kansai/kyoto/arashiyama/",
        "7": "https://www.city.kyoto.example.jp/kotsu/",
        "8": "https://ru.travel-notes.example/kyoto-osen",
        "9": "https://tabi-techo.example.jp/kansai/kyoto/sakura/",
      }
    `);
  });
  test('lines without spaces are cut at 80 characters', async () => {
    const tool = new BrowserTool({ backend: new FixtureBackend() });
    expect(await call(tool, 'open', { id: PAGES.japanese.url, loc: 6, num_lines: 5 })).toMatchInlineSnapshot(`
      "[0] 京都の紅葉名所ガイド〖2024年版〗｜旅の手帖 (https://tabi-techo.example.jp/kansai/kyoto/koyo/)
      **viewing lines [6 - 10] of 33**

      L6: 更新日：2024年10月28日 文：山田花子
      L7: 
      L8: 京都の紅葉は例年11月中旬から12月上旬にかけて見頃を迎えます。標高の高い北部の寺院から色づき始め、市内中心部では11月下旬が最も美しい時期です。今年は夏の猛暑
      L9: の影響で、見頃が例年より一週間ほど遅れると予想されています。
      L10: "
    `);
    expect(await call(tool, 'find', { pattern: 'ПУТЕВОДИТЕЛЕ' })).toMatchInlineSnapshot(`
      "[1] Find results for text: \`путеводителе\` in \`京都の紅葉名所ガイド〖2024年版〗｜旅の手帖\` (https://tabi-techo.example.jp/kansai/kyoto/koyo//find?pattern=путеводителе)
      **viewing lines [0 - 4] of 4**

      L0: # 【0†match at L29】
      L1: путеводителе на русском языке.
      L2: 
      L3: 関連記事：京都の桜名所｜奈良の紅葉
      L4: "
    `);
  });
});

describe('view budget', () => {
  test.each(['news', 'docs', 'table', 'japanese'] as const)(
    '%s: each window is the shortest run of whole lines reaching the token budget',
    async (key) => {
      const tokenizer = getTokenizer();
      const viewTokens = 120;
      const tool = new BrowserTool({ backend: new FixtureBackend(), viewTokens });
      const lines = wrapLines(render(key).text);
      let loc = 0;
      let first = true;
      while (loc < lines.length) {
        const out = first ? await call(tool, 'open', { id: PAGES[key].url }) : await call(tool, 'open', { loc });
        first = false;
        const [, a, b, total] = /viewing lines \[(\d+) - (\d+)\] of (\d+)/.exec(out)!.map(Number);
        expect(a).toBe(loc);
        expect(total).toBe(lines.length - 1);
        const shown = joinLines(lines.slice(a, b + 1), true, a);
        const fewer = joinLines(lines.slice(a, b), true, a);
        if (b < total) {
          // The reference counts characters per token decoded alone, so for text split inside UTF-8 sequences
          // (Japanese) its cut can come a little early; for ASCII-heavy pages the bound is exact.
          if (key !== 'japanese') expect(tokenizer.encodeOrdinary(shown).length).toBeGreaterThan(viewTokens);
          expect(tokenizer.encodeOrdinary(fewer).length).toBeLessThanOrEqual(viewTokens);
        }
        loc = b + 1;
      }
    },
  );
});
