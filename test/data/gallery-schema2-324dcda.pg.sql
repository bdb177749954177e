--
-- PostgreSQL database dump
--

\restrict dVntZcgImDOblZUEeiiSdgYxDH45esUXcIqnJSkb0NdgNSrmkBBS4hS7q5wJPgi

-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: faceprint_changes; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.faceprint_changes (
    seq bigint NOT NULL,
    kind text NOT NULL,
    ref text NOT NULL
);


--
-- Name: faceprint_changes_seq_seq; Type: SEQUENCE; Schema: public; Owner: -
--

CREATE SEQUENCE public.faceprint_changes_seq_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;


--
-- Name: faceprint_changes_seq_seq; Type: SEQUENCE OWNED BY; Schema: public; Owner: -
--

ALTER SEQUENCE public.faceprint_changes_seq_seq OWNED BY public.faceprint_changes.seq;


--
-- Name: faceprint_faces; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.faceprint_faces (
    id uuid NOT NULL,
    subject_id uuid,
    cluster_id text,
    embedding bytea NOT NULL,
    image_sha256 text NOT NULL,
    bbox jsonb NOT NULL,
    score real NOT NULL,
    quality real NOT NULL,
    source text,
    created_at timestamp with time zone NOT NULL
);


--
-- Name: faceprint_meta; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.faceprint_meta (
    key text NOT NULL,
    value jsonb NOT NULL
);


--
-- Name: faceprint_subjects; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.faceprint_subjects (
    id uuid NOT NULL,
    name text NOT NULL,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    template bytea,
    face_count integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL
);


--
-- Name: faceprint_changes seq; Type: DEFAULT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.faceprint_changes ALTER COLUMN seq SET DEFAULT nextval('public.faceprint_changes_seq_seq'::regclass);


--
-- Data for Name: faceprint_changes; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.faceprint_changes (seq, kind, ref) FROM stdin;
1	template	40789d54-447c-4d84-ac62-6d02636c0c94
2	template	3962797e-d0b1-4798-a120-a63c52dba8cc
3	face	064bf4e3-78ae-49e5-a6ec-15f9a2b4fb81
4	face	a483d0c7-d6ec-48de-994c-832a4f82b7f2
5	face	c2be6490-8839-4cb1-bf69-14046b604c31
6	face	064bf4e3-78ae-49e5-a6ec-15f9a2b4fb81
7	face	c2be6490-8839-4cb1-bf69-14046b604c31
8	face	a483d0c7-d6ec-48de-994c-832a4f82b7f2
\.


--
-- Data for Name: faceprint_faces; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.faceprint_faces (id, subject_id, cluster_id, embedding, image_sha256, bbox, score, quality, source, created_at) FROM stdin;
b697dc1b-e65f-4772-abf6-9b0787977509	40789d54-447c-4d84-ac62-6d02636c0c94	\N	\\xfb8bc7bc00c6af3bb553553e037e543aa0396ebcaab5d9bd2702ee3de7400a3e8083e6bdd26ccdbc8e561f3e737366baca40d037c603e7bd8273cbbd6e05163dd23b94bd6b319abc37dfa93d3aa8433d779834bea3da96bdecc5c2bd458bb03c149d2ebeb77a15bdd91369bd5dc6133cd957b03d56023a3d87c2073e0663513d30f556bc75a1a1bd6d9e3b3d14d8203ec591b0bd0d9f1bbd8367283d13f0ba3c19c8583d8f2315bdc4192cbda6003abd1efab43c578b453d4f0398bcfebe30bd2b1798bd7ae06cbcfb6fb5bd52e7acbdbded07bd477b123e73a50e3e9dbe33bd48925f3dcafb8dbc1108a83c75cc18be8b702abe0630193e40c9883c16b19e3d794b76bd4deddebcf302ea3d6153a13da990ca3db8eb32bd7e54a4bda81a32bd00d864bd9535d3bbd05fb3bd54a09dbdafb3143e8666a5bd1fa8b23d1bacf23d7b5a87bd9cb413bc8e920c3e3f7ba1bd614d2f3ea0d8c3bcb894d63d73b75e3eeacebf3d2992fcbc3d01533b1412953c8320f83dd0cf56bd71de2cbcbe141cbd4746f73dbeb34cbe46d5123cabb564bd7008953b25b5963dcf12ad3c579ca73d9abdbc3dbf764abd60e90cbeae4f9e3c496fe1bd9845df3df6c03ebd637888bc3ef2cfbd6b5f7cbed878c03c6895903ddc2815bd448b703d6985f53d1c093b3d8ef48b3c5159303d6e0658bbe341b6bd1876be3b5d0f35bee04f35bb65c4153d	a1649b290794c11f242823ede1aa73f1ce8de0710d8aaccd9b638bcb70e9793e	[30.553712844848633, 3.9240224361419678, 150.24673461914062, 149.19740295410156]	0.86124396	16.40899	/work/shared/fixtures/faces/identities/bbt/amy/amy1.png	2026-12-07 19:34:46.3657+00
6afe6f37-5d15-4f22-aed8-2231fd985724	40789d54-447c-4d84-ac62-6d02636c0c94	\N	\\x09e730bc8bb710bd8e18423e97f180bcd9692abd8928e7bd54c6e13d338e013ea4666f3ba5c8bbbca94dc03d5aff923ca8c2dcbc7f0681becde0c6bdea0bff3c492068bdd846883d0fd3893db4541e3dd53fb5bd6e008dbd5b73a3bdd5e683bddbbb2fbee11890bc4cf0debd1ccdc3bbe3f5303ddcc1643de827243debd166bda251c2bd9a30bfbc2c4d2cbd1325273e082703beea3e963c9d9402bd9ddc9f3d98df843da457823c4e1bcc3cfe25f23c0e31d0bc74782abdb404bf3dd0481fbdcc6f89bbb51a5c3d453394bdc9241abeb35b2fbd28e83e3e3f2d5b3dfca60dbd2b26ad3d541c2bbdc4d0ec3dc1eacbbd98ca21beb8be6d3d75b9ac3cce90b53db2aafdbd776f9e3b89b6c33c0185893d2b4d833d59f31c3cb9052ebc9a92093b602dfbbc60983fbde2e9083cbf3e81bd700d253e135ff6bced2e213d0232173e96afa4bc5b8990bce92fb53d5e3c88bd4cb6a83bd87393bc5818cd3deebc773e4843813daae026bdf8228cbd59c9bd3d13caa23db3dbd13d1eaeddbc42abf9bd99c0e63c6d0d53bed74699bbcbddfdbd05eb4d3dfb5e203d63ee3a3d6c283e3d55f0923df8af073ddbabecbdd0c7b3bd41df1ebe7972ad3d7471b3bdb59d933b84ef1bbed73f2abec56525bd2b4dab3d7acf11be4776943ca730243e6acd123ecfe647bce2093cbdf4e88d3db31774bc4036753b5a1a3cbe6653a13db28b8abd	ff21d25b38fd6534cb61c213652b88024446daa5bc201c106b815e19a0b7d426	[19.042150497436523, 0.5895361304283142, 143.07528686523438, 147.55648803710938]	0.85390943	18.686686	/work/shared/fixtures/faces/identities/bbt/amy/amy2.png	2026-12-07 19:34:46.3657+00
fce0dd95-b2e0-4719-8ecb-3e05732088e5	3962797e-d0b1-4798-a120-a63c52dba8cc	\N	\\x5c16963e0f155abd770ddd3d14b59d3d96030ebd32f5903c32d11e3ebe95b33c29145dbd156db83d32b0943d184e5bbbc146bb3d6ee2583d7e3b76bdbceb433d6ffe903c5d16893cc4adbbbd8ca713bee136b43dfde38dbcd3e02bbc7d0727bec6d31ebe223e773c8290933d4d27acbd665caf3caa84a63d11eb1e3ee99d97bd36f34b3c6d7e573d4ef8b9bc9f4389bd1b320bbeb1025c3dc506013eea46c73b06aeff3b06d3733d9fb30a3e3b4350bd14babcbc38467c3df341283dfb133a3c3bc99fbdbc69813d03979abb43d51b3dabb5fd3ce420fabdc2765cbdc50ea03d403331bd920134bcbe4f01be03a0ae3d413bba3d99a31d3ebe5b6f3cae9e08bd959fb63d6ae69dbdfdff213cb42bfebd16923a3ed7d5b53d0a2a2c3e3fff193de4f61d3e35b6773d661fb1bda82890bd00b2fd3de780703d08d14fbd0122e8bd3c68fcbd2c5f7bbea9294e3d564111bdee0a97b93ba6d1bb26911b3bd6fc89bc9e5ed73db9f2b4bd4845953d9569043c5aae393e127c103d1e20a5bd2eecfcbd3acb0fbd2c9e27be841513bd3754073ebd9d42bcffe7e53ce02dbc3d37e3a9bc4f92e5bc0cbf1e3da979613cc0f9eb3b9b0202bbca930dbdf6a09c3d02a0f6bdde15953ce77880bac643053ca9de97bd6179fa3df4c2c7bd12bf2e3ced63383e1b37963d7f3426bdbf47bc3d659993bddb7a9fbd5857b73dbf57ebbd61d972bc	38068934fc208eee0e83771e61e4698b6430c7c77e35fe78b80f78eb662f05b6	[14.617037773132324, 3.176084041595459, 141.23866271972656, 146.7688446044922]	0.83885604	15.058967	/work/shared/fixtures/faces/identities/bbt/penny/penny1.png	2026-12-07 19:34:46.432875+00
8306a38f-1a05-4260-93a8-7b1e1e2019fa	3962797e-d0b1-4798-a120-a63c52dba8cc	\N	\\x9a452e3e155e3e3c02ff2d3ecba3173d70c69bbdc91a79bce11df63d985341bdc18ecebd594dabbbd0efe63c3469013c7af8fc3d1b952fbe8afb63be07d3ffbd2aca023a5e26fd3db880853c7bbeccbd0531febcbe1fddbda096353c34a176bc8deb8ebdfb29833d3e6f563d5083d1bde781aa3dea5965bdcb8f3cbc57a090bd7f67a13da98810bc1f8216bddd8f46bdb66122bc4b92bc3c34ace23dad488d3d51188a3d01a68b3ddb37833dba24423e9ea50ebc0a9ed03dbfc4d23d76ea09bdac3ca4bc1e61053e89cd00bd7e491ebdda4d07bdc265c1bd09db1dbe3955483c876872bd1b385b3d09f2a9bd6eb3813de98a9c3da2ac483e53acc23d93320d3dc17f0e3e0e1eecbd97511abd522503bc87bca33d3e0541bd033bcb3dbd2b85bd60e2003effcadb3c610996bd9b03163de874d73b513186bcb32a32bbd54b09be9133b6bbf4dcf7bce0236b3d5c79013dcaf2863da163f9bdc03acc3ca1c316be9180c83ce3c8a3bd9027abbdb55f223ef774613ef24208bd1d0a83bd0cb6e8bd5c695739d16c14beb88c453e16915dbd9ab2073d667a35bddec2803d0f26f8bd21214fbdef74efbd1a168cbb093012bd1838ec3cf94a20bef2e964bcf3ab07be053168bd5cdaadbd089ea2bdb6f6b3bda4e6833d1a34bb3cdbe36a3df15d293e609416bd7f8b173d72b83e3db804c8bafab9d73c44189b3da46b19be79c0c03d	ef0237ba5842de3d89d4876cf892bbe68eb6cc681e0a35babc87a5299d7ee726	[2.6685922145843506, -0.09285807609558105, 130.60198974609375, 140.97804260253906]	0.8293338	17.50838	/work/shared/fixtures/faces/identities/bbt/penny/penny2.png	2026-12-07 19:34:46.432875+00
064bf4e3-78ae-49e5-a6ec-15f9a2b4fb81	\N	5591f3ca-9895-43cf-9058-1eeacf64b7b6	\\x74d0d93de099afbc7c6b3dbc11db41bd5e4db2bd8e00a33cd3827a3c4e8a17be5cbc013d5fef25be456645bdad5714be98941dbd47b10d3e864c133e778bfabd9326bdbdecec3fbe4a45aabdc91b6b3d247c663d4904ccbd05bd87bd514f2a3d28a3f33dc84b8bbc92540d3e03a1353d728c94bc5fb7babd22401d3e5b086fbda1d340bd8414f43deb3659bdf2ec0dbee95feb3cd23e2c3d5928a03dc536b33d837805beabcff2bdabec40bdba1e3cbe14d111beac549fbd375699bd91a712bdeea1f1bd6d221ebce043903d6824353bb6863bbefd019bbdb09d023e9726f2bce7fe39bd39b172bbe2ae3b3bde818bbd09eefebdb4994ebd1c07a3bcce7a2ebeeb0df3bd14803dbd8a1197bde17bc63d7f9b5b3d42043a3edf6c0a3e4a0104be0f3e6cbd9b53b63c742cb83d527908bebff14ebce8270e3eb5a3713e63ba3abe4b28c4bca3ea1bbd2d8383bd0d6d873cf17ccfba055d213dbd186a3db0a7413c9cd986bdc9149b3cb85ec43b617928bdf447673ca67743bd8b04aebd03de663d0b630e3e4bc6c6bd026a4d3d8b61443d90c0ad3de7d7d23d1892d7b91603fbbcae2d15be1afa913d324e103b4494d83c386504bc92a287bd935297b906d2833b3195413df5f4bf3c0bc41dbe1c3b3ebb2db1613cfcfdc4bd6d535f3cf5154dbdce5e02bed3e1cc3c38e9913dc39aab3c41bc7c3c0eb4873d3a39cc3bcd7026bc	71949f6a71777a6dffca9b806177ec5bf7f47dc9cc9d48c78fffa4bf67a6d3e7	[11.652449607849121, 0.9154871106147766, 138.80825805664062, 147.96920776367188]	0.8699807	15.40023	/work/shared/fixtures/faces/identities/bbt/raj/raj1.png	2026-12-07 19:34:46.539502+00
c2be6490-8839-4cb1-bf69-14046b604c31	\N	5591f3ca-9895-43cf-9058-1eeacf64b7b6	\\x73fc183e0ecc3a3d196c163d1748dfbdfb87aabc3a7320bde42878bde0d525beeb3f203ddebd02be38ff28bdc5af23be060cd5bc9fcb253e2d19613cd2c1cdbcb274eabd041668be771f863de33e3e3d6ba21a3ca74cedbdbc4824be76c7513d1f2b433e6203a5bc9899af3ddba9ad3db319ac3dc85cf63b00e7883d537edc3d93c8933d0524123c1f27063da3ec11bc2652d73deef102bcd99868ba948ccb3d3685d43c70076ebc45ac71bc85c13dbef0190bbebc8b96bda9bf953cbded2bbe6af9dabdee3dcdbcc92292bded5e1e3d552bfdbd04382abd8a91453dff98813cbad4743d8936033d3309293ca9da803dfce71dbd5439c63c4d0aacbdcb7fd6bd297f65bd6232ebbc700329bcac6a1e3e23a9c43d641aec3d2ab57a3db0f34dbe3d6229bec508d43c9bc1b73b5a8580b86ebc18bd7b541e3c18b2393ef6bb50bec35964bddf7c8abdb94a77bd535771bd9e9407bd1d46573d5c70863d3270d03d5294b63c29d437bceb1287bdecdb0ebd06e38c3cb671af3bdb4c9ebdff15953d840da5bc0f80cfbcfb45e03da4e4ea3c7c02123efa0d6a3dc09c25bde693da3d8f0055be7329be3df8e20dbd8ad98d3da42ca0bd88db033dc35c4d3d63ca2b3d338f6e3ec280223db4d50ebead3d96bd7c21373d6e78b7bd2c118a3de6645ebded9558bde97d273c92c5613b1295503d1bfe57bc218da8bdb2c1f13c0438ac3d	216428c9387c8e0e012d8eb8765bdcfa2288b6fa4749a0f0eefcf5895a7ddb79	[3.925739049911499, 1.4496445655822754, 136.85702514648438, 146.58058166503906]	0.86213017	14.262635	/work/shared/fixtures/faces/identities/bbt/raj/raj3.png	2026-12-07 19:34:46.539502+00
a483d0c7-d6ec-48de-994c-832a4f82b7f2	\N	5591f3ca-9895-43cf-9058-1eeacf64b7b6	\\xe212503c8fd6fd3c91a2d7bd4aceb2bd7c9b7cbeef3a083db4777f3d9c3d9cbedf01b03c122bddbd10c8493cd4f48bbdc466d1bda413acbda4ddaa3d78361dbd575787bd8fb5c9bdfdd83b3d28b1ed3d069d553c37190abe04465bbd351c13bd5e54633d01c748bdbdc0973d1f03fbbc0e50633c26382cbdeb8209395aa5563d2bccc9bdacf2973c94df8bbcca9febbc198881bc63848cbca20ec0bdb62109bd3ebcc9bc12fb67bcec8b773c145107be5316d2bda771f2bd888ee4bdd39a44beebe306be68c924be797b033d026d5f3b524c1fbe18524cbd875a543b83a883bdab58ed3da26f65bd334e9dbb88386cbc5c552cbd26c9833cbf2f9cbd4482c6bdc47da1bd04a3afbd52a00c3db28fef3d520f563d61700f3ec734d83d952241bea85947be6733de3c81c6203d99d5253dc5ae213c6c081d3db49e183ecad8dcbd4a9eb43da40db4bd821f2abd29f0eabd463982bdb36651bd3ca54f3d37b8f03d78c798bde1564d3d37991ebc5b1d9f3c51b8cf3dd1225fbd14b4c0bca480cd3d32eced3db62295bd1315243dc2239cbde9c0c2bc6f45083eefbf703d54d6853c108e88bde92e423eaf24863d8c61b83d6c44033d35c9883c8519e4bc97b90e3c4380ab3dc597ce3c403253be87c40ebd8dc7a3bd25d8a2bdfe31bdbc6142ba3d5258b3bde821f0bd49168d3d3e43cf3de2a8b53c8591e6bd51f812bc95e0e5bb	9752571453e5137237266b0b20e2008059b38dcb03098e5af9f81e461f055aff	[14.266549110412598, 1.036199927330017, 146.1186981201172, 151.89871215820312]	0.84719944	16.46876	/work/shared/fixtures/faces/identities/bbt/raj/raj2.png	2026-12-07 19:34:46.539502+00
\.


--
-- Data for Name: faceprint_meta; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.faceprint_meta (key, value) FROM stdin;
schema	2
binding	{"dim": 128, "detSizes": [128, 640], "recognizerName": "mobilefacenet.onnx", "recognizerSha256": "0c9ad2a83969fc82155706f7020e6926b4a1a90a5476fff4a5588dfe207f64a4"}
calibration	{"points": [{"far": 0.01, "threshold": 0.35}, {"far": 0.1, "threshold": 0.25}], "source": "made for the migration test", "bestThreshold": 0.31}
service:monitors	[{"id": "m1", "name": "door"}]
\.


--
-- Data for Name: faceprint_subjects; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.faceprint_subjects (id, name, metadata, template, face_count, created_at, updated_at) FROM stdin;
40789d54-447c-4d84-ac62-6d02636c0c94	amy	{}	\\xbc9998bcc61382bc38e1573edf9b01bcdfb4f3bc11d7edbd3fbef53d2ce70d3ed45a6cbd2459d0bc2060073e7425143c47bb69bc9aef45be4c2ed5bdc00f133dc00a8cbdd721cf3cbb09a33dff903b3de5b50fbe03a59abd8ecfbdbd3204babc2aa339beafc2eabcb2e0b3bde069d33a31528c3d55c55b3d0d5cbb3d25b535bb9f666abd1df05dbddcdb013b53ca2d3e798be8bd199d2abc2755a03bd5ef5a3df9ac7f3d7df731bc827614bc079d09bcc0b8e6ba1e87653bbb27223d220d32bd39472abdca7eaa3cfba9aebd8df7febdc4f024bd55c5323ef43bd13d254c2abd38fa963d2f4800bd3abd933dbffc06bec00930be1353e13dd2ffa33c7f4ab43d46a9c7bdac4442bc9aeb953d1d599e3d9ae7b03dde0694bcb93245bd85a1b3bc46cd3bbd9904e7bccef32bbde80098bd793f263e668d70bdf65d893dc267103ebc113bbd326f67bc6cf9f43d1ac09dbd5c5cbf3d0ae7b5bc4e5fde3d3547793ef41faa3d59561bbd05850dbde79d703d17bbd93deb24d93c7642a3bc6da4adbde896a13d5f4b5cbe7fc6143bac1bc3bdc6f5ed3c60af743dc9e6103dc1308b3d84ddb13dcd870dbcd05d09bed39314bdfae70fbe4835d23d329e91bdfd06d3bb89b709beedee5fbee29512bc7e60a73d9a09c2bdebc9263da80b183e911fcd3d8b93293b2435c6ba8f3b0f3d717a61bd45e2a53b6a9b43be33f5243dffed86bc	2	2026-12-07 19:34:46.3657+00	2026-12-07 19:34:46.3657+00
3962797e-d0b1-4798-a120-a63c52dba8cc	penny	{"team": "physics"}	\\x13da873e6c45c3bc5bf0223e38bc853d5bdf81bdaaf8ba3a4f6c213e5f2a6dbcf297b5bd4bf8463d0d6d6c3de5d92a3b541efc3d4e008bbd0ed025be37cf34bd00c02a3c6899a43d25bb30bd172f0fbebe9f053d4df292bdcaf1b13939f6d0bd3ae103be49a0393d3be8913d2392dabdcc80753d01836d3cd984a83daca6a9bd4d10563d316ecd3c48710bbda77687bd450dabbd57fd333d8dcb0a3eab15303d4478303d0bca953de001ea3d94baa23da1ec94bc9eb4bf3d5fe1a83d945c51bcc70966bdafe0e23d25a8a9bcc8e2b3b998d69aba0afffdbd51edf3bde600543da04c70bd498ac73c326ef5bda647ae3d544cc43d78324d3e689e803d56c7273ac7e5053edba4e1bdbe5c82bcfaf19abd6eba193e4474c33c63c91c3e88ac80bc6645243e16cb4c3d205bbbbdee679ebc24ff983da99cc63cd2c6fabc2e1811be951197bd8db221be20b97c3d819910bb2ce3193da15296bde217803ceb6ec0bdde0a983d7e6bc5bd9584c8bb1d74c33dcd726b3eb0b1963a359ba9bd1e0e0bbe05bba3bc6afd34beda25b83dc21c373d0e64473c8a6318bcfd80b53d5f6ea6bd505a38bd105a37bd2e06b23bd5a685bcb0f07b3c5e21e0bd179f123d545014be2390b4bcf26b49bda52c27bd6208bebd07fada3d89312fbdad881f3d85964a3ebba1ab3cfe5306bb106fa23ddfa12cbd8cc7f1bc57d0c13d5f3f1bbefcff393d	2	2026-12-07 19:34:46.432875+00	2026-12-07 19:34:46.432875+00
\.


--
-- Name: faceprint_changes_seq_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public.faceprint_changes_seq_seq', 8, true);


--
-- Name: faceprint_changes faceprint_changes_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.faceprint_changes
    ADD CONSTRAINT faceprint_changes_pkey PRIMARY KEY (seq);


--
-- Name: faceprint_faces faceprint_faces_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.faceprint_faces
    ADD CONSTRAINT faceprint_faces_pkey PRIMARY KEY (id);


--
-- Name: faceprint_meta faceprint_meta_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.faceprint_meta
    ADD CONSTRAINT faceprint_meta_pkey PRIMARY KEY (key);


--
-- Name: faceprint_subjects faceprint_subjects_name_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.faceprint_subjects
    ADD CONSTRAINT faceprint_subjects_name_key UNIQUE (name);


--
-- Name: faceprint_subjects faceprint_subjects_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.faceprint_subjects
    ADD CONSTRAINT faceprint_subjects_pkey PRIMARY KEY (id);


--
-- Name: faceprint_faces_cluster; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX faceprint_faces_cluster ON public.faceprint_faces USING btree (cluster_id);


--
-- Name: faceprint_faces_subject; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX faceprint_faces_subject ON public.faceprint_faces USING btree (subject_id);


--
-- Name: faceprint_faces_subject_image; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX faceprint_faces_subject_image ON public.faceprint_faces USING btree (subject_id, image_sha256) WHERE (subject_id IS NOT NULL);


--
-- Name: faceprint_faces_unassigned; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX faceprint_faces_unassigned ON public.faceprint_faces USING btree (created_at, id) WHERE (subject_id IS NULL);


--
-- Name: faceprint_subjects_metadata; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX faceprint_subjects_metadata ON public.faceprint_subjects USING gin (metadata jsonb_path_ops);


--
-- Name: faceprint_faces faceprint_faces_subject_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.faceprint_faces
    ADD CONSTRAINT faceprint_faces_subject_id_fkey FOREIGN KEY (subject_id) REFERENCES public.faceprint_subjects(id) ON DELETE CASCADE;


--
-- PostgreSQL database dump complete
--

\unrestrict dVntZcgImDOblZUEeiiSdgYxDH45esUXcIqnJSkb0NdgNSrmkBBS4hS7q5wJPgi

